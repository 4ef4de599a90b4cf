import Foundation
import HeapCore

/// Prints the in-process figures and their ratios against the anchors named in the foundation issue.
enum BenchmarkReport {
    static func run(arguments: [String]) {
        if arguments.first == "gc-wake" {
            let heap = Heap(configuration: HeapConfiguration(maxObjects: 1 << 20, shardCount: 2))
            heap.collector.start()
            for round in 0..<50 {
                for _ in 0..<800 {
                    heap.gate.shared {
                        let node = try! heap.makeList()
                        try! heap.append(node, node)
                        heap.release(node)
                    }
                }
                usleep(2000)
                if round % 10 == 9 {
                    print(
                        "round \(round): collections \(heap.collector.statistics.map { $0.collections }) counts \(heap.collector.counts)"
                    )
                }
            }
            heap.collector.stop()
            return
        }
        if arguments.first == "image" {
            // image [N] [DIRECTORY]: SAVE/restore of N objects (default 1M).
            let count = arguments.dropFirst().first.flatMap { Int($0) } ?? 1_000_000
            ImageBenchmarks.report(count: count, directory: arguments.count > 2 ? arguments[2] : "/tmp")
            return
        }
        if arguments.first == "trace" {
            TracingBenchmarks.report()
            return
        }
        if arguments.first == "trace-profile" {
            // trace-profile [threads] [off] [objects]: 48-byte blocks (or int objects) traced with 1 frame
            // (or not), for `perf`.
            TracingBenchmarks.profile(
                threads: arguments.dropFirst().first.flatMap { Int($0) } ?? 1, tracing: !arguments.contains("off"),
                objects: arguments.contains("objects"))
            return
        }
        if arguments.first == "gc-load" {
            // Generation-0 pauses with 1M old objects and two mutator threads, alone (for `perf`).
            let load = CollectorBenchmarks.pausesUnderLoad()
            let percentiles = [50.0, 90, 99, 99.9].map {
                String(format: "p%g %.1f µs", $0, Double(load.percentile($0)) / 1e3)
            }
            print(
                "gen-0 pauses under load (\(load.count)): " + percentiles.joined(separator: ", ")
                    + String(format: ", max %.1f µs", Double(load.maxNanoseconds) / 1e3))
            CollectorBenchmarks.printSchedulingFloor()
            return
        }
        if arguments.first == "gc-full-load" {
            // Full collections of 1M objects with two mutator threads: every stop's pause, marking in
            // steps and in one stop. gc-full-load [N] [steps|one]
            let count = arguments.count > 1 ? Int(arguments[1]) ?? 1_000_000 : 1_000_000
            let variants = arguments.count > 2 ? [arguments[2] == "steps"] : [true, false]
            CollectorBenchmarks.reportFullPauses(count: count, variants: variants)
            return
        }
        if arguments.first == "gc-young" {
            let (median, worst) = CollectorBenchmarks.youngPause(repeats: 3000)
            print(String(format: "gen-0 700 young / 1M old: median %.1f µs, max %.1f µs", median * 1e6, worst * 1e6))
            return
        }
        if arguments.first == "gc-shape", arguments.count >= 3, let count = Int(arguments[2]) {
            // One shape, for a profiler: gc-shape SHAPE N [REPEATS] [FREEING-THREADS] [no-mark]
            let repeats = arguments.count > 3 ? Int(arguments[3]) ?? 5 : 5
            let threads = arguments.count > 4 ? Int(arguments[4]) ?? 1 : 1
            let marksAlive = !(arguments.count > 5 && arguments[5] == "no-mark")
            let result = CollectorBenchmarks.measure(
                arguments[1], count: count, repeats: repeats, threads: threads, marksAlive: marksAlive)
            print(
                String(
                    format: "%@ %d: median %.2f ms, fastest %.2f ms, returned %d", result.shape, count,
                    result.seconds * 1e3, result.fastest * 1e3, result.returned))
            return
        }
        if arguments.first == "gc" {
            let sizes = arguments.dropFirst().compactMap { Int($0) }
            CollectorBenchmarks.report(sizes: sizes.isEmpty ? [100_000, 1_000_000] : sizes)
            return
        }
        func line(_ label: String, _ value: Double, unit: String = "M/s") {
            let padded = label.padding(toLength: 54, withPad: " ", startingAt: 0)
            print("  " + padded + String(format: "%10.2f ", value / 1e6) + unit)
        }
        print("== refcount pairs (retain+release), \(InProcessBenchmarks.pairs) per thread, median of 5")
        let bare1 = InProcessBenchmarks.bareAtomicPairs(threads: 1)
        let ours1 = InProcessBenchmarks.refcountPairs(threads: 1, shared: false)
        let bare2 = InProcessBenchmarks.bareAtomicPairs(threads: 2)
        let ours2 = InProcessBenchmarks.refcountPairs(threads: 2, shared: false)
        let shared2 = InProcessBenchmarks.refcountPairs(threads: 2, shared: true)
        line("bare atomic add+sub pairs, 1 thread", bare1)
        line("heapd retain+release pairs, 1 thread", ours1)
        line("bare atomic add+sub pairs, 2 threads", bare2)
        line("heapd retain+release pairs, 2 threads (own objects)", ours2)
        line("heapd retain+release pairs, 2 threads (one object)", shared2)
        print(String(format: "  cost ratio heapd/bare, 1 thread: %.2fx (target <= 2x)", bare1 / ours1))
        print(String(format: "  scaling 2 threads / 1 thread: %.2fx", ours2 / ours1))

        print("== allocate+free of 48-byte blocks (batches of 1000), median of 5")
        let arena1 = InProcessBenchmarks.arenaAllocations(threads: 1)
        let malloc1 = InProcessBenchmarks.mallocAllocations(threads: 1)
        let arena2 = InProcessBenchmarks.arenaAllocations(threads: 2)
        let malloc2 = InProcessBenchmarks.mallocAllocations(threads: 2)
        let objects1 = InProcessBenchmarks.objectAllocations(threads: 1)
        let objects2 = InProcessBenchmarks.objectAllocations(threads: 2)
        line("heapd arena, 1 thread", arena1)
        line("glibc malloc+free, 1 thread", malloc1)
        line("heapd arena, 2 threads", arena2)
        line("glibc malloc+free, 2 threads", malloc2)
        line("heapd int objects (alloc+slot+free), 1 thread", objects1)
        line("heapd int objects (alloc+slot+free), 2 threads", objects2)
        print(String(format: "  cost ratio arena/malloc, 1 thread: %.2fx (target <= 1.5x)", malloc1 / arena1))
        print(String(format: "  arena scaling 2 threads / 1 thread: %.2fx (target >= 1.7x)", arena2 / arena1))
        print(String(format: "  object scaling 2 threads / 1 thread: %.2fx", objects2 / objects1))

        print("== bytes per object (block + payload + 16-byte handle entry)")
        for (name, bytes) in InProcessBenchmarks.bytesPerObject() {
            print("  " + name.padding(toLength: 24, withPad: " ", startingAt: 0) + String(format: "%6.1f bytes", bytes))
        }
        print(
            "  anchor: a two-element list costs CPython 116 bytes (sys.getsizeof + 16-byte GC head + item array); target <= 64"
        )
    }
}
