import Foundation
import HeapCore
import Synchronization

/// The collector on the graph shapes of ../shared/bench/cpython_gc.py, built from lists as there:
/// full-collection time per shape and size, the generation-0 pause with 1M old objects (idle and with
/// mutators running), and bytes per tracked container.
enum CollectorBenchmarks {
    struct Result {
        var shape: String
        var nodes: Int
        var seconds: Double
        var returned: Int
        /// The fastest run: on a shared machine, the least disturbed one.
        var fastest: Double = 0
    }

    /// A small deterministic generator (the shapes match CPython's in kind, not node for node).
    struct SplitMix {
        var state: UInt64
        mutating func next(below bound: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(bound))
        }
    }

    /// Builds `shape` with `count` list nodes; returns the root (or nil when the shape has none).
    static func build(_ shape: String, count: Int, heap: Heap) -> ObjectRef? {
        var rng = SplitMix(state: 1)
        let nodes = (0..<count).map { _ in try! heap.makeList() }
        var root: ObjectRef?
        switch shape {
        case "rings2":
            for index in stride(from: 0, to: count - 1, by: 2) {
                try! heap.append(nodes[index], nodes[index + 1])
                try! heap.append(nodes[index + 1], nodes[index])
            }
        case "cycle":
            for index in 0..<count { try! heap.append(nodes[index], nodes[(index + 1) % count]) }
        case "random":
            for node in nodes {
                try! heap.append(node, nodes[rng.next(below: count)])
                try! heap.append(node, nodes[rng.next(below: count)])
            }
            root = try! heap.makeList(Array(nodes[0..<(count / 2)]))
        default:
            for index in 0..<(count - 1) { try! heap.append(nodes[index], nodes[index + 1]) }
            root = try! heap.makeList([nodes[0]])
        }
        for node in nodes { heap.release(node) }
        return root
    }

    /// Median seconds of a full collection (or, for `chain`, of dropping the root) over `repeats` runs.
    /// `threads`: how many threads free a collection's garbage (``CycleCollector/freeingThreads``).
    /// `marksAlive`: whether the collection starts with the mark-alive pass from the shape's root (as
    /// heapd's server gives its variables and globals); off, it is CPython 3.11's plain trial deletion.
    ///
    /// `freshHeap`: a new heap for each repeat. Otherwise one heap serves every repeat, as CPython's
    /// anchor runs its repeats in one interpreter: what a long-running heapd has warm (the slot free
    /// lists, the collector's list storage) is warm, and what it has scattered (a graph built in slots
    /// freed in another order) is scattered. The report prints both.
    ///
    /// The collection runs on the collector thread and is timed from the request to its answer, as
    /// `GC COLLECT` runs in the server (the thread returns the arenas it emptied to the OS after it
    /// answered). With HEAPBENCH_CLOCK=thread it runs inline on the timing thread, unmaps included.
    static func measure(
        _ shape: String, count: Int, repeats: Int = 5, threads: Int = 1, marksAlive: Bool = true,
        freshHeap: Bool = false
    ) -> Result {
        var times: [Double] = []
        var returned = 0
        func makeHeap() -> Heap {
            let heap = Heap(configuration: HeapConfiguration(maxObjects: 1 << 23, shardCount: 2))
            heap.collector.setEnabled(false)
            heap.collector.freeingThreads.store(threads, ordering: .relaxed)
            heap.collector.marksAlive.store(marksAlive, ordering: .relaxed)
            // With HEAPBENCH_CLOCK=thread the collection must run on the timing thread (inline), and
            // HEAPBENCH_INLINE_COLLECT=1 asks for that with the wall clock too.
            if Measure.clock != CLOCK_THREAD_CPUTIME_ID
                && ProcessInfo.processInfo.environment["HEAPBENCH_INLINE_COLLECT"] == nil
            {
                heap.collector.start()
            }
            return heap
        }
        var heap = makeHeap()
        for repeat_ in 0..<repeats {
            if freshHeap && repeat_ > 0 {
                heap.collector.stop()
                heap = makeHeap()
            }
            let root = build(shape, count: count, heap: heap)
            heap.collector.setRoots { root.map { [$0] } ?? [] }
            let start = Measure.now()
            if shape == "chain" {
                heap.release(root!)
            } else {
                returned = try! heap.collector.collect(generation: 2)
            }
            times.append(Measure.now() - start)
            // A root must hold a reference (CycleCollector.setRoots): forget it before dropping it.
            heap.collector.setRoots(nil)
            if let root, shape != "chain" { heap.release(root) }
            _ = try! heap.collector.collect(generation: 2)
        }
        heap.collector.stop()
        return Result(
            shape: shape, nodes: count, seconds: Measure.median(times), returned: returned, fastest: times.min() ?? 0)
    }

    /// Starts two mutator threads that each make a self-referencing list per turn of the gate (a
    /// command's worth of work, as a session runs it) and drop it 32 turns later, so young cyclic
    /// garbage keeps coming; returns the function that stops them and waits for them.
    static func startMutators(_ heap: Heap) -> () -> Void {
        let stop = Atomic<Bool>(false)
        let done = DispatchGroup()
        for thread in 0..<2 {
            done.enter()
            Thread {
                var pending: [ObjectRef] = []
                while !stop.load(ordering: .relaxed) {
                    heap.gate.shared {
                        let node = try! heap.makeList()
                        try! heap.append(node, node)
                        pending.append(node)
                        if pending.count > 32 { heap.release(pending.removeFirst(), shard: thread) }
                    }
                    // As the server's connections do after each batch.
                    heap.collector.collectIfDue()
                }
                heap.gate.shared { for node in pending { heap.release(node, shard: thread) } }
                done.leave()
            }.start()
        }
        return {
            stop.store(true, ordering: .relaxed)
            done.wait()
        }
    }

    /// Generation-0 collections of `young` new nodes with `old` long-lived nodes in generation 2:
    /// (median, max) seconds of the collection itself, measured as the pause the collector records.
    static func youngPause(old: Int = 1_000_000, young: Int = 700, repeats: Int = 20) -> (Double, Double) {
        let heap = Heap(configuration: HeapConfiguration(maxObjects: 1 << 23, shardCount: 2))
        heap.collector.setEnabled(false)
        let keep = build("random", count: old, heap: heap)!
        _ = try! heap.collector.collect(generation: 2)
        _ = try! heap.collector.collect(generation: 2)
        var times: [Double] = []
        for _ in 0..<repeats {
            let fresh = (0..<young).map { _ in try! heap.makeList() }
            let start = Measure.now()
            _ = try! heap.collector.collect(generation: 0)
            times.append(Measure.now() - start)
            for node in fresh { heap.release(node) }
        }
        heap.release(keep)
        return (Measure.median(times), times.max() ?? 0)
    }

    /// Generation-0 pauses with 1M old objects while two mutator threads keep allocating and linking
    /// containers (automatic collection at threshold 700 on the collector thread): the collector's own
    /// pause statistics, which include waiting for the mutators to reach the gate.
    static func pausesUnderLoad(old: Int = 1_000_000, seconds: Double = 3) -> PauseStatistics {
        let heap = Heap(configuration: HeapConfiguration(maxObjects: 1 << 23, shardCount: 4))
        heap.collector.setEnabled(false)
        let keep = build("random", count: old, heap: heap)!
        _ = try! heap.collector.collect(generation: 2)
        heap.collector.start()
        try! heap.collector.setThresholds([700, 10, 10_000_000])
        // As the server runs: young collections on the mutator whose allocations made them due
        // (HEAPBENCH_YOUNG_ON_COLLECTOR=1: on the collector thread, as before, to compare).
        heap.collector.mutatorsCollectYoung.store(
            ProcessInfo.processInfo.environment["HEAPBENCH_YOUNG_ON_COLLECTOR"] == nil, ordering: .relaxed)
        heap.collector.setEnabled(true)
        let stopMutators = startMutators(heap)
        usleep(UInt32(seconds * 1e6))
        stopMutators()
        let pauses = heap.collector.statistics[0].pauses
        let waits = heap.collector.statistics[0].stopWaits
        print(
            String(
                format:
                    "  of each pause, waiting for the mutators to leave the gate: p50 %.1f µs, p99 %.1f µs, max %.1f µs",
                Double(waits.percentile(50)) / 1e3, Double(waits.percentile(99)) / 1e3,
                Double(waits.maxNanoseconds) / 1e3))
        if let last = heap.collector.lastCollection {
            print(
                "  (last collection: generation \(last.generation), examined \(last.examined), collected \(last.collected); collections per generation \(heap.collector.statistics.map(\.collections)), counts \(heap.collector.counts))"
            )
        }
        heap.collector.stop()
        heap.gate.shared { heap.release(keep) }
        return pauses
    }

    /// Full collections of `count` objects (the random shape, half reached from its root) while two
    /// mutator threads run as in ``pausesUnderLoad(old:seconds:)``: the pauses of generation 2, every stop
    /// counted (the mark-alive steps and the collection's last stop when `inSteps`), and the wall time
    /// of each collection. Returns (pauses, median seconds per collection).
    static func fullPausesUnderLoad(count: Int = 1_000_000, inSteps: Bool, repeats: Int = 5) -> (
        PauseStatistics, Double
    ) {
        let heap = Heap(configuration: HeapConfiguration(maxObjects: 1 << 23, shardCount: 4))
        heap.collector.setEnabled(false)
        let keep = build("random", count: count, heap: heap)!
        heap.collector.setRoots { [keep] }
        // The first collection moves the built objects to generation 2; its pause is counted too, so it
        // is made the way the measured ones are.
        _ = try! heap.collector.collect(generation: 2, inSteps: inSteps)
        let lastStops = Mutex<[UInt64]>([])
        heap.setEventSink { event in
            if case .collectionFinished(let info) = event, info.generation == 2 {
                lastStops.withLock { $0.append(info.pauseNanoseconds) }
            }
        }
        heap.collector.start()
        try! heap.collector.setThresholds([700, 10, 10_000_000])
        // As the server runs: young collections on the mutator whose allocations made them due
        // (HEAPBENCH_YOUNG_ON_COLLECTOR=1: on the collector thread, as before, to compare).
        heap.collector.mutatorsCollectYoung.store(
            ProcessInfo.processInfo.environment["HEAPBENCH_YOUNG_ON_COLLECTOR"] == nil, ordering: .relaxed)
        heap.collector.setEnabled(true)
        let stopMutators = startMutators(heap)
        var times: [Double] = []
        for _ in 0..<repeats {
            let start = Measure.now()
            _ = try! heap.collector.collect(generation: 2, inSteps: inSteps)
            times.append(Measure.now() - start)
        }
        stopMutators()
        let pauses = heap.collector.statistics[2].pauses
        let waits = heap.collector.statistics[2].stopWaits
        print(
            String(
                format: "  of each stop, waiting for the mutators to leave the gate: p50 %.2f ms, p99 %.2f ms, "
                    + "max %.2f ms",
                Double(waits.percentile(50)) / 1e6, Double(waits.percentile(99)) / 1e6,
                Double(waits.maxNanoseconds) / 1e6))
        let last = lastStops.withLock { $0 }.map { String(format: "%.1f", Double($0) / 1e6) }
        print("  the collections' last stops (ms): \(last.joined(separator: ", "))")
        heap.setEventSink(nil)
        heap.collector.stop()
        heap.collector.setRoots(nil)
        heap.gate.shared { heap.release(keep) }
        return (pauses, Measure.median(times))
    }

    static func report(sizes: [Int]) {
        print("== full collections (median of 5), heapd; threads = threads freeing the garbage")
        for count in sizes {
            for shape in ["rings2", "cycle", "random", "chain"] {
                // Two threads only where there is garbage to free in parallel; the chain is a cascade.
                // The random graph, the one shape with a root, also without the mark-alive pass.
                // Each also in a fresh heap per repeat (see measure's `freshHeap`).
                var variants: [(threads: Int, marksAlive: Bool, fresh: Bool)] =
                    shape == "chain"
                    ? [(1, true, false), (1, true, true)]
                    : shape == "random"
                        ? [(1, true, false), (1, true, true), (1, false, false)]
                        : [(1, true, false), (2, true, false), (1, true, true)]
                if shape == "random" && count < 1_000_000 { variants.removeLast() }
                for (threads, marksAlive, fresh) in variants {
                    let result = measure(
                        shape, count: count, threads: threads, marksAlive: marksAlive, freshHeap: fresh)
                    let what = shape == "chain" ? "free by refcount" : "collect returned \(result.returned)"
                    let variant = [marksAlive ? nil : "no mark-alive", fresh ? "fresh heap per repeat" : nil]
                        .compactMap { $0 }.joined(separator: ", ")
                    let perObject = result.seconds / Double(count) * 1e9
                    print(
                        "  {\"shape\": \"\(shape)\", \"n\": \(count), \"threads\": \(threads), \"collect_s\": \(String(format: "%.5f", result.seconds)), \"ns_per_object\": \(String(format: "%.1f", perObject)), \"variant\": \"\(variant)\", \"note\": \"\(what)\"}"
                    )
                }
            }
        }
        let (median, worst) = youngPause()
        print(
            String(
                format: "== gen-0 collection of 700 young with 1M old, idle: median %.1f µs, max %.1f µs",
                median * 1e6, worst * 1e6))
        let load = pausesUnderLoad()
        print(
            String(
                format:
                    "== gen-0 pauses with 1M old and 2 mutator threads: %d pauses, median %.1f µs, p99 %.1f µs, max %.1f µs (goal p99 <= 50 µs, max <= 1 ms)",
                load.count, Double(load.medianNanoseconds) / 1e3, Double(load.p99Nanoseconds) / 1e3,
                Double(load.maxNanoseconds) / 1e3))
        let percentiles = [50.0, 90, 99, 99.9].map {
            String(format: "p%g %.1f µs", $0, Double(load.percentile($0)) / 1e3)
        }
        print("   distribution (last \(PauseStatistics.window)): " + percentiles.joined(separator: ", "))
        printSchedulingFloor()
        reportFullPauses(count: 1_000_000, variants: [true, false])
    }

    /// Prints how long this machine keeps a busy thread off its core (``Measure/schedulingGaps``): the
    /// bound under the max pause whenever the mutators use both cores.
    static func printSchedulingFloor() {
        let gaps = Measure.schedulingGaps()
        print(
            String(
                format:
                    "   the machine's floor: a thread spinning on each of 2 cores was kept off it for up to %.2f ms (%d gaps over 1 ms in 3 s); a stop waiting for a mutator preempted in the gate waits as long",
                gaps.longest * 1e3, gaps.overOneMillisecond))
    }

    /// Prints ``fullPausesUnderLoad(count:inSteps:repeats:)`` for each variant (true: marking in steps).
    static func reportFullPauses(count: Int, variants: [Bool]) {
        for inSteps in variants {
            let (pauses, seconds) = fullPausesUnderLoad(count: count, inSteps: inSteps)
            print(
                String(
                    format:
                        "== full collections of %d live objects with 2 mutator threads, marking %@: %d stops, p50 %.2f ms, p99 %.2f ms, max %.2f ms (goal: no pause over 10 ms); %.0f ms per collection",
                    count, inSteps ? "in steps (automatic)" : "in one stop (GC COLLECT)", pauses.count,
                    Double(pauses.percentile(50)) / 1e6, Double(pauses.percentile(99)) / 1e6,
                    Double(pauses.maxNanoseconds) / 1e6, seconds * 1e3))
        }
    }
}
