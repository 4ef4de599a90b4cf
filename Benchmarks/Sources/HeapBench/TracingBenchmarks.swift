import Foundation
import HeapCore

/// What tracemalloc costs an allocation: whole `int` objects made and released, and bare 48-byte
/// arena blocks, with tracing off, on with 1 frame and on with 25 frames, on one thread.
///
/// Off, the allocator pays one relaxed atomic load per allocation and per free; the figures below are
/// compared with glibc's malloc as a fixed anchor, since the branch cannot be taken out to compare.
enum TracingBenchmarks {
    static let batch = 1_000
    static let rounds = 1_000

    enum Mode: CustomStringConvertible {
        case off
        case frames(Int)
        var description: String {
            switch self {
            case .off: "tracing off"
            case .frames(let n): "tracing, \(n) frame\(n == 1 ? "" : "s")"
            }
        }
    }

    /// Sets `tracer` to `mode` and returns the token a thread allocating "in a command" sets.
    static func configure(_ tracer: AllocationTracer, _ mode: Mode) -> TraceContext.Token? {
        tracer.stop()
        guard case .frames(let count) = mode else { return nil }
        try! tracer.start(frames: count)
        // A script 25 scopes deep: every frame a different file and line.
        let frames = (0..<25).map { TraceFrame(filename: "bench/level\($0).heap", lineno: 10 + $0) }
        return tracer.intern(frames)
    }

    /// Nanoseconds per `makeInt` + `release`, median of 5.
    static func objectCost(_ mode: Mode) -> Double {
        let heap = Heap(configuration: HeapConfiguration(maxObjects: 1 << 20, shardCount: 1))
        let token = configure(heap.tracer, mode)
        let rate = Measure.throughput(threads: 1, iterations: rounds) { _, rounds in
            TraceContext.setCurrent(token)
            var refs: [ObjectRef] = []
            refs.reserveCapacity(batch)
            for _ in 0..<rounds {
                for index in 0..<batch { refs.append(try! heap.makeInt(Int64(index))) }
                for ref in refs { heap.release(ref) }
                refs.removeAll(keepingCapacity: true)
            }
        }
        heap.tracer.stop()
        return 1e9 / (rate * Double(batch))
    }

    /// Nanoseconds per 48-byte arena allocate + free, median of 5.
    static func blockCost(_ mode: Mode) -> Double {
        let allocator = ArenaAllocator(shardCount: 1)
        let token = configure(allocator.tracer, mode)
        let rate = Measure.throughput(threads: 1, iterations: rounds * 5) { _, rounds in
            TraceContext.setCurrent(token)
            let blocks = UnsafeMutablePointer<UnsafeMutableRawPointer>.allocate(capacity: batch)
            defer { blocks.deallocate() }
            for _ in 0..<rounds {
                for index in 0..<batch { blocks[index] = allocator.allocate(size: 48, shard: 0)! }
                for index in 0..<batch { allocator.free(blocks[index], size: 48, shard: 0) }
            }
        }
        allocator.tracer.stop()
        return 1e9 / (rate * Double(batch))
    }

    static func report() {
        let malloc = 1e9 / InProcessBenchmarks.mallocAllocations(threads: 1)
        print("== tracemalloc: cost of one allocation (+ its free), 1 thread, median of 5")
        print("  glibc malloc+free of 48 bytes (anchor)                 \(String(format: "%8.1f ns", malloc))")
        let modes: [Mode] = [.off, .frames(1), .frames(25)]
        for (what, cost) in [("48-byte arena block", blockCost), ("int object (block + slot + header)", objectCost)] {
            let figures = modes.map { cost($0) }
            for (mode, figure) in zip(modes, figures) {
                let label = "\(what), \(mode)".padding(toLength: 54, withPad: " ", startingAt: 0)
                let ratio = figure / figures[0]
                print(
                    "  \(label) \(String(format: "%8.1f ns  %5.2fx of off, %5.2fx of malloc", figure, ratio, figure / malloc))"
                )
            }
        }
    }
}
