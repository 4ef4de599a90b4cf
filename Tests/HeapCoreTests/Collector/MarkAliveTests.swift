import HeapCore
import Synchronization
import XCTest

/// The mark-alive pass of full collections (``CycleCollector/setRoots(_:)``): with the roots given, a
/// collection must find exactly what plain trial deletion finds, in the same order (the same events),
/// whatever the roots miss.
final class MarkAliveTests: XCTestCase {
    /// A random heap of lists, dicts, instances, tuples and weakrefs with finalizers, built the same
    /// way in every heap for a seed, so object ids match between heaps.
    struct Program {
        var seed: UInt64
        var objects = 400
        var kept = 60

        func next(_ state: inout UInt64, below bound: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(bound))
        }

        /// Builds the heap's objects and returns the references kept (as variables would) and the id of
        /// every object made.
        func build(in heap: Heap) throws -> (kept: [ObjectRef], ids: [ObjectID]) {
            var rng = seed
            var refs: [ObjectRef] = []
            for index in 0..<objects {
                let ref: ObjectRef
                switch next(&rng, below: 10) {
                case 0, 1, 2: ref = try heap.makeList()
                case 3, 4: ref = try heap.makeDict()
                case 5, 6: ref = try heap.makeInstance(className: "C\(index % 3)")
                case 7 where !refs.isEmpty:
                    ref = try heap.makeTuple([refs[next(&rng, below: refs.count)], refs[next(&rng, below: refs.count)]])
                case 8 where !refs.isEmpty: ref = try heap.makeWeakref(to: refs[next(&rng, below: refs.count)])
                default: ref = try heap.makeInt(Int64(index))
                }
                if heap.kind(of: ref) == .object && next(&rng, below: 3) == 0 {
                    try heap.setFinalizer(ref, legacy: next(&rng, below: 2) == 0)
                }
                refs.append(ref)
            }
            for _ in 0..<(objects * 2) {
                let from = refs[next(&rng, below: refs.count)]
                let to = refs[next(&rng, below: refs.count)]
                switch heap.kind(of: from) {
                case .list: try heap.append(from, to)
                case .dict: try heap.setItem(from, key: "k\(next(&rng, below: 8))", to)
                case .object: try heap.setAttribute(from, "a\(next(&rng, below: 4))", to)
                default: break
                }
            }
            let ids = refs.map { heap.id(of: $0) }
            var kept: [ObjectRef] = []
            for ref in refs {
                if kept.count < self.kept && next(&rng, below: objects / self.kept) == 0 {
                    kept.append(ref)
                } else {
                    heap.release(ref)
                }
            }
            return (kept, ids)
        }
    }

    /// What a full collection did, as far as a client can see it.
    struct Observed: Equatable {
        var returned: Int
        var events: [String]
        var alive: [Bool]
        var generationLengths: [Int]
        var garbage: Int
    }

    /// Builds `program` in a fresh heap, collects once with `roots` (nil: no mark-alive), and reports.
    /// `inSteps`: the marking runs in steps of (almost) no time each, as automatic collections mark.
    func run(_ program: Program, roots pick: (([ObjectRef]) -> [ObjectRef])?, inSteps: Bool = false) throws
        -> Observed
    {
        let heap = Heap(configuration: HeapConfiguration(maxObjects: 1 << 16, shardCount: 1))
        heap.collector.setEnabled(false)
        heap.collector.markStepNanoseconds.store(0, ordering: .relaxed)
        let events = Mutex<[String]>([])
        heap.setEventSink { event in
            switch event {
            case .finalizer(let object, _): events.withLock { $0.append("fin \(object)") }
            case .weakrefCleared(let weakref, let target): events.withLock { $0.append("wr \(weakref) \(target)") }
            default: break
            }
        }
        let (kept, ids) = try program.build(in: heap)
        let roots = pick?(kept) ?? []
        heap.collector.marksAlive.store(pick != nil, ordering: .relaxed)
        if pick != nil { heap.collector.setRoots { roots } }
        let returned = try heap.collector.collect(generation: 2, inSteps: inSteps)
        heap.collector.setRoots(nil)
        let alive = ids.map { id -> Bool in
            guard let ref = try? heap.acquire(id) else { return false }
            heap.release(ref)
            return true
        }
        var external: [ObjectRef: Int] = [:]
        for ref in kept { external[ref, default: 0] += 1 }
        let problems = heap.withWorldStopped { $0.verify(externalReferences: external) }
        XCTAssertEqual(problems, [], "heap inconsistent after a collection (seed \(program.seed))")
        let observed = Observed(
            returned: returned, events: events.withLock { $0 }, alive: alive,
            generationLengths: heap.statistics().generationLengths, garbage: heap.collector.garbageCount)
        heap.gate.shared {
            _ = heap.collector.clearGarbage(shard: 0)
            for ref in kept { heap.release(ref) }
        }
        _ = try heap.collector.collect(generation: 2)
        heap.setEventSink(nil)
        return observed
    }

    func testSameOutcomeAsTrialDeletionWithEveryRoot() throws {
        var found = (garbage: 0, events: 0, uncollectable: 0)
        for seed in UInt64(1)...40 {
            let program = Program(seed: seed)
            let plain = try run(program, roots: nil)
            let marked = try run(program, roots: { $0 })
            XCTAssertEqual(marked, plain, "seed \(seed)")
            XCTAssertGreaterThan(plain.alive.filter { $0 }.count, 0)
            found.garbage += plain.returned
            found.events += plain.events.count
            found.uncollectable += plain.garbage
        }
        // The programs exercise what the comparison is about: cycles, finalizers and weakrefs, gc.garbage.
        XCTAssertGreaterThan(found.garbage, 40)
        XCTAssertGreaterThan(found.events, 0)
        XCTAssertGreaterThan(found.uncollectable, 0)
    }

    /// Roots that miss some holders, or name one twice, cost time only: trial deletion finds the rest.
    func testIncompleteAndRepeatedRootsChangeNothing() throws {
        for seed in UInt64(41)...60 {
            let program = Program(seed: seed)
            let plain = try run(program, roots: nil)
            let half = try run(program, roots: { Array($0.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)) })
            let twice = try run(program, roots: { $0 + $0 })
            let none = try run(program, roots: { _ in [] })
            XCTAssertEqual(half, plain, "seed \(seed), half the roots")
            XCTAssertEqual(twice, plain, "seed \(seed), every root twice")
            XCTAssertEqual(none, plain, "seed \(seed), no roots")
        }
    }

    /// A root in the permanent generation, and a root that only an untracked container reaches, are
    /// walked around, not into; what hangs below them survives through trial deletion.
    func testFrozenRootsAreNotWalked() throws {
        let heap = Heap(configuration: HeapConfiguration(maxObjects: 1 << 12, shardCount: 1))
        heap.collector.setEnabled(false)
        let frozen = try heap.makeList()
        heap.withWorldStopped { $0.freeze() }
        let young = try heap.makeList()
        try heap.append(young, young)
        try heap.append(frozen, young)
        heap.release(young)
        let cycle = try heap.makeList()
        try heap.append(cycle, cycle)
        heap.release(cycle)
        heap.collector.setRoots { [frozen] }
        XCTAssertEqual(try heap.collector.collect(generation: 2), 1, "only the unrooted cycle is garbage")
        heap.collector.setRoots(nil)
        XCTAssertEqual(heap.statistics().generationLengths[2], 1, "the frozen list's referent stays in generation 2")
        heap.withWorldStopped { $0.unfreeze() }
        heap.release(frozen)
        XCTAssertEqual(try heap.collector.collect(generation: 2), 1)
        XCTAssertEqual(heap.statistics().objects, 0)
    }

    /// Marking in steps, with nothing changing between them, finds what one stop finds.
    func testMarkingInStepsFindsWhatOneStopFinds() throws {
        for seed in UInt64(61)...80 {
            let program = Program(seed: seed, objects: 3000, kept: 200)
            let plain = try run(program, roots: nil)
            let stepped = try run(program, roots: { $0 }, inSteps: true)
            XCTAssertEqual(stepped, plain, "seed \(seed)")
        }
    }

    /// Between the steps of a marking the mutators run: they store new objects into marked ones (no
    /// write barrier tells the marking), drop marked objects, make cycles, free and reuse slots, and
    /// freeze. The collection must free no live object and leave no mark behind (DEBUG VERIFY's check).
    func testMutationsBetweenStepsFreeNothingLive() throws {
        for seed in UInt64(81)...100 {
            let heap = Heap(configuration: HeapConfiguration(maxObjects: 1 << 16, shardCount: 1))
            heap.collector.setEnabled(false)
            heap.collector.markStepNanoseconds.store(0, ordering: .relaxed)
            let program = Program(seed: seed, objects: 3000, kept: 200)
            var (kept, _) = try program.build(in: heap)
            let roots = kept
            heap.collector.setRoots { roots }
            var rng = seed
            var steps = 0
            // Runs on this thread (the collector thread is not started), between two stops.
            nonisolated(unsafe) var keptInHook = kept
            heap.collector.betweenMarkSteps = {
                steps += 1
                for _ in 0..<20 {
                    let target = keptInHook[program.next(&rng, below: keptInHook.count)]
                    let fresh = try! heap.makeList()
                    try! heap.append(fresh, fresh)  // a cycle only `target` keeps alive
                    if heap.kind(of: target) == .list {
                        try! heap.append(target, fresh)
                    } else if heap.kind(of: target) == .dict {
                        try! heap.setItem(target, key: "n\(steps)", fresh)
                    }
                    heap.release(fresh)
                }
                // A root dropped (its objects may now be floating garbage) and a new one made.
                let dropped = keptInHook.remove(at: program.next(&rng, below: keptInHook.count))
                heap.release(dropped)
                keptInHook.append(try! heap.makeList())
                if steps == 2 { heap.withWorldStopped { $0.freeze() } }
                if steps == 3 { heap.withWorldStopped { $0.unfreeze() } }
            }
            _ = try heap.collector.collect(generation: 2, inSteps: true)
            heap.collector.betweenMarkSteps = nil
            heap.collector.setRoots(nil)
            kept = keptInHook
            XCTAssertGreaterThan(steps, 1, "seed \(seed): the marking ran in several steps")
            var external: [ObjectRef: Int] = [:]
            for ref in kept { external[ref, default: 0] += 1 }
            let problems = heap.withWorldStopped { $0.verify(externalReferences: external) }
            XCTAssertEqual(problems, [], "seed \(seed): a live object freed or a count wrong")
            heap.withWorldStopped { $0.unfreeze() }
            heap.gate.shared {
                _ = heap.collector.clearGarbage(shard: 0)
                for ref in kept { heap.release(ref) }
            }
        }
    }

    /// A list longer than a chunk is scanned over several steps; between them it shrinks and grows.
    /// Nothing it holds at the end may be freed, and what it dropped is found by the next collection.
    func testLongListScannedInChunksAcrossSteps() throws {
        let heap = Heap(configuration: HeapConfiguration(maxObjects: 1 << 18, shardCount: 1))
        heap.collector.setEnabled(false)
        heap.collector.markStepNanoseconds.store(0, ordering: .relaxed)
        let big = try heap.makeList()
        for _ in 0..<30_000 {
            let item = try heap.makeList()
            try heap.append(item, item)
            try heap.append(big, item)
            heap.release(item)
        }
        heap.collector.setRoots { [big] }
        var steps = 0
        heap.collector.betweenMarkSteps = {
            steps += 1
            if steps == 1 {
                // Drop the last 20,000 items (now cyclic garbage) and add 100 new ones.
                heap.gate.shared {
                    for _ in 0..<20_000 { heap.release(try! heap.pop(big)) }
                    for _ in 0..<100 {
                        let item = try! heap.makeList()
                        try! heap.append(item, item)
                        try! heap.append(big, item)
                        heap.release(item)
                    }
                }
            }
        }
        _ = try heap.collector.collect(generation: 2, inSteps: true)
        heap.collector.betweenMarkSteps = nil
        XCTAssertGreaterThan(steps, 1)
        let problems = heap.withWorldStopped { $0.verify(externalReferences: [big: 1]) }
        XCTAssertEqual(problems, [])
        XCTAssertEqual(try heap.length(of: big), 10_100)
        heap.collector.marksAlive.store(false, ordering: .relaxed)
        _ = try heap.collector.collect(generation: 2)
        XCTAssertEqual(heap.statistics().objects, 10_101, "the dropped items are collected by the next collection")
        heap.collector.setRoots(nil)
        heap.release(big)
        _ = try heap.collector.collect(generation: 2)
        XCTAssertEqual(heap.statistics().objects, 0)
    }
}
