import Foundation
import HeapCore

/// What tracemalloc costs an allocation: bare 48-byte arena blocks and whole `int` objects made and
/// freed, with tracing off, on with 1 frame and on with 25 frames, on 1 and 2 threads (each thread on
/// its own allocator shard, as sessions are), against the target of at most 1.5× the cost off.
///
/// The three modes are measured in turns, round after round, and each figure is the median of its
/// rounds, so a neighbour's load on this shared machine falls on all three alike. The ratio is the
/// median of each turn's own ratio (tracing on against off measured just before it): on this VM a
/// run lands on a fast or a slow vCPU (48-byte blocks off: 7–10 or 14–15 ns), and a ratio of two
/// medians could divide a fast figure by a slow one. A last line grows
/// the traced memory (every block a new peak, the mode in which the tracer keeps a shared total).
enum TracingBenchmarks {
    static let batch = 1_000
    static let rounds = 200
    static let turns = 15
    static let target = 1.5

    enum Mode: CaseIterable, CustomStringConvertible {
        case off, oneFrame, manyFrames
        var frames: Int? {
            switch self {
            case .off: nil
            case .oneFrame: 1
            case .manyFrames: 25
            }
        }
        var description: String {
            switch self {
            case .off: "off"
            case .oneFrame: "1 frame"
            case .manyFrames: "25 frames"
            }
        }
    }

    /// Sets `tracer` to `mode` and returns the token a thread allocating "in a command" sets.
    static func configure(_ tracer: AllocationTracer, _ mode: Mode) -> TraceContext.Token? {
        tracer.stop()
        guard let count = mode.frames else { return nil }
        try! tracer.start(frames: count)
        // A script 25 scopes deep: every frame a different file and line.
        let frames = (0..<25).map { TraceFrame(filename: "bench/level\($0).heap", lineno: 10 + $0) }
        return tracer.intern(frames)
    }

    /// Nanoseconds per allocation + free and per thread, in one run of `threads` threads.
    static func blockCost(_ allocator: ArenaAllocator, _ token: TraceContext.Token?, threads: Int) -> Double {
        let rate = Measure.throughput(threads: threads, iterations: rounds * 5, repeats: 1) { thread, rounds in
            TraceContext.setCurrent(token)
            let blocks = UnsafeMutablePointer<UnsafeMutableRawPointer>.allocate(capacity: batch)
            defer { blocks.deallocate() }
            for _ in 0..<rounds {
                for index in 0..<batch { blocks[index] = allocator.allocate(size: 48, shard: thread)! }
                for index in 0..<batch { allocator.free(blocks[index], size: 48, shard: thread) }
            }
            TraceContext.setCurrent(nil)
        }
        return 1e9 * Double(threads) / (rate * Double(batch))
    }

    /// Nanoseconds per `makeInt` + `release` and per thread.
    static func objectCost(_ heap: Heap, _ token: TraceContext.Token?, threads: Int) -> Double {
        let rate = Measure.throughput(threads: threads, iterations: rounds, repeats: 1) { thread, rounds in
            TraceContext.setCurrent(token)
            var refs: [ObjectRef] = []
            refs.reserveCapacity(batch)
            for _ in 0..<rounds {
                for index in 0..<batch { refs.append(try! heap.makeInt(Int64(index), shard: thread)) }
                for ref in refs { heap.release(ref, shard: thread) }
                refs.removeAll(keepingCapacity: true)
            }
            TraceContext.setCurrent(nil)
        }
        return 1e9 * Double(threads) / (rate * Double(batch))
    }

    /// Nanoseconds per allocation + free when 100,000 blocks are allocated before any is freed, from
    /// a reset peak: every allocation is a new peak.
    static func growthCost(_ allocator: ArenaAllocator, _ token: TraceContext.Token?, threads: Int) -> Double {
        let count = 100_000
        let rate = Measure.throughput(threads: threads, iterations: 5, repeats: 1) { thread, rounds in
            TraceContext.setCurrent(token)
            let blocks = UnsafeMutablePointer<UnsafeMutableRawPointer>.allocate(capacity: count)
            defer { blocks.deallocate() }
            for _ in 0..<rounds {
                allocator.tracer.resetPeak()
                for index in 0..<count { blocks[index] = allocator.allocate(size: 48, shard: thread)! }
                for index in 0..<count { allocator.free(blocks[index], size: 48, shard: thread) }
            }
            TraceContext.setCurrent(nil)
        }
        return 1e9 * Double(threads) / (rate * Double(count))
    }

    /// Per mode, the median figure and the median of each turn's ratio to off, measuring the modes
    /// in turns.
    static func figures(threads: Int, _ measure: (Mode) -> Double) -> [Mode: (ns: Double, ratio: Double)] {
        var samples: [Mode: [Double]] = [:]
        var ratios: [Mode: [Double]] = [:]
        for _ in 0..<turns {
            var off = 0.0
            for mode in Mode.allCases {
                let figure = measure(mode)
                if mode == .off { off = figure }
                samples[mode, default: []].append(figure)
                ratios[mode, default: []].append(figure / off)
            }
        }
        var result: [Mode: (ns: Double, ratio: Double)] = [:]
        for mode in Mode.allCases { result[mode] = (Measure.median(samples[mode]!), Measure.median(ratios[mode]!)) }
        return result
    }

    /// Only the 48-byte blocks (or the int objects) in one mode, on `threads` threads, for a profiler.
    static func profile(threads: Int, tracing: Bool, objects: Bool) {
        if objects {
            let heap = Heap(configuration: HeapConfiguration(maxObjects: 1 << 20, shardCount: threads))
            let token = configure(heap.tracer, tracing ? .oneFrame : .off)
            for _ in 0..<turns { print(String(format: "%.1f ns", objectCost(heap, token, threads: threads))) }
            heap.tracer.stop()
            return
        }
        let allocator = ArenaAllocator(shardCount: threads)
        let token = configure(allocator.tracer, tracing ? .oneFrame : .off)
        for _ in 0..<turns { print(String(format: "%.1f ns", blockCost(allocator, token, threads: threads))) }
        allocator.tracer.stop()
    }

    static func report() {
        print(
            "== tracemalloc: ns per allocation + free, per thread (median of \(turns) turns); "
                + "target: on <= \(target)x off")
        print("  what                              threads    off ns   1 frame ns (x off)   25 frames ns (x off)")
        func line(_ what: String, threads: Int, _ figures: [Mode: (ns: Double, ratio: Double)]) {
            var text = "  " + what.padding(toLength: 34, withPad: " ", startingAt: 0)
            text += String(format: "%7d %9.1f", threads, figures[.off]!.ns)
            for mode in [Mode.oneFrame, .manyFrames] {
                let (ns, ratio) = figures[mode]!
                text += String(format: " %10.1f (%4.2fx)%@", ns, ratio, ratio <= target ? "  " : " !")
            }
            print(text)
        }
        for threads in [1, 2] {
            let allocator = ArenaAllocator(shardCount: threads)
            let blocks = figures(threads: threads) { mode in
                blockCost(allocator, configure(allocator.tracer, mode), threads: threads)
            }
            allocator.tracer.stop()
            line("48-byte arena block", threads: threads, blocks)
        }
        for threads in [1, 2] {
            let heap = Heap(configuration: HeapConfiguration(maxObjects: 1 << 20, shardCount: threads))
            let objects = figures(threads: threads) { mode in
                objectCost(heap, configure(heap.tracer, mode), threads: threads)
            }
            heap.tracer.stop()
            line("int object (block, slot, header)", threads: threads, objects)
        }
        for threads in [1, 2] {
            let allocator = ArenaAllocator(shardCount: threads)
            let growing = figures(threads: threads) { mode in
                growthCost(allocator, configure(allocator.tracer, mode), threads: threads)
            }
            allocator.tracer.stop()
            line("48-byte block, every one a peak", threads: threads, growing)
        }
        print(
            "  (x off: median of the turns' own ratios; ! = above the target; per thread: 2 threads scale"
                + " perfectly when their figure equals 1 thread's)")
    }
}
