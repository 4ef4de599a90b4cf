import Foundation
import HeapCore
import Synchronization
import XCTest

/// The collector's rules, modeled on the cases of CPython's Lib/test/test_gc.py that apply to heapd.
final class CollectorTests: HeapTestCase {
    var collector: CycleCollector { heap.collector }

    override func setUp() {
        super.setUp()
        collector.setEnabled(false)
        _ = try? collector.collect()
    }

    func testList() throws {  // test_gc.test_list
        let list = try heap.makeList()
        try heap.append(list, list)
        heap.release(list)
        XCTAssertEqual(try collector.collect(), 1)
        XCTAssertEqual(heap.statistics().objects, 0)
    }

    func testDict() throws {  // test_gc.test_dict
        let dict = try heap.makeDict()
        try heap.setItem(dict, key: "self", dict)
        heap.release(dict)
        XCTAssertEqual(try collector.collect(), 1)
    }

    func testTuple() throws {  // test_gc.test_tuple: a tuple in a cycle through a list
        let list = try heap.makeList()
        let tuple = try heap.makeTuple([list])
        try heap.append(list, tuple)
        heap.release(tuple)
        heap.release(list)
        XCTAssertEqual(try collector.collect(), 2)
    }

    func testInstanceCycles() throws {  // test_gc.test_class / test_newinstance (3.11: one object each)
        let a = try heap.makeInstance(className: "A")
        try heap.setAttribute(a, "a", a)
        heap.release(a)
        XCTAssertEqual(try collector.collect(), 1)
        let b = try heap.makeInstance(className: "B")
        let c = try heap.makeInstance(className: "C")
        try heap.setAttribute(b, "other", c)
        try heap.setAttribute(c, "other", b)
        heap.release(b)
        heap.release(c)
        XCTAssertEqual(try collector.collect(), 2)
    }

    /// A garbage set big enough to be freed by two threads at once, with everything a free must undo
    /// (payloads, long tuples in their own blocks, weakrefs to and from the garbage, finalizers, objects
    /// outside the set that the garbage alone kept alive): the heap is exact afterwards, and the weakref
    /// that outlives the garbage reads None.
    func testLargeGarbageFreedByTwoThreadsLeavesTheHeapSound() throws {
        heap.collector.freeingThreads.store(2, ordering: .relaxed)
        let survivor = try heap.makeList()
        hold(survivor)
        let first = try heap.makeList()
        var previous = first
        heap.retain(previous)
        for index in 0..<40_000 {
            let node = try heap.makeList()
            try heap.append(previous, node)
            if index % 1_000 == 0 {
                let items = try (0..<150).map { _ in try heap.makeInt(Int64(index)) }
                let tuple = try heap.makeTuple(items)
                items.forEach { heap.release($0) }
                try heap.append(node, tuple)
                heap.release(tuple)
                let weak = try heap.makeWeakref(to: node)
                try heap.append(survivor, weak)
                heap.release(weak)
                try heap.setFinalizer(node, legacy: false)
            }
            if index % 997 == 0 {
                let weakToSurvivor = try heap.makeWeakref(to: survivor)
                try heap.append(node, weakToSurvivor)
                heap.release(weakToSurvivor)
            }
            heap.release(previous)
            previous = node
        }
        try heap.append(previous, first)
        heap.release(previous)
        heap.release(first)
        let found = try heap.collector.collect(generation: 2)
        XCTAssertGreaterThanOrEqual(found, 40_001, "the ring, its tuples and its weakrefs")
        let problems = heap.withWorldStopped { $0.verify(externalReferences: held) }
        XCTAssertEqual(problems, [])
        let weak = try heap.item(survivor, at: 0)
        XCTAssertNil(try heap.weakrefTarget(weak), "the weakref to a freed node reads None")
        heap.release(weak)
    }

    func testReachableCycleSurvivesAndMovesUp() throws {
        let root = hold(try heap.makeList())
        let inner = try heap.makeList()
        try heap.append(root, inner)
        try heap.append(inner, root)
        heap.release(inner)
        XCTAssertEqual(try collector.collect(generation: 0), 0)
        XCTAssertEqual(heap.statistics().generationLengths, [0, 2, 0, 0])
        XCTAssertEqual(try collector.collect(generation: 1), 0)
        XCTAssertEqual(heap.statistics().generationLengths, [0, 0, 2, 0])
        try heap.clear(root)
    }

    func testLegacyFinalizerMakesCycleUncollectable() throws {  // test_gc.test_legacy_finalizer
        let a = try heap.makeInstance(className: "A")
        let payload = try heap.makeList()
        try heap.setAttribute(a, "a", a)
        try heap.setAttribute(a, "payload", payload)
        heap.release(payload)
        try heap.setFinalizer(a, legacy: true)
        let id = heap.id(of: a)
        heap.release(a)
        XCTAssertEqual(try collector.collect(), 2, "a and what it reaches are uncollectable")
        let garbage = collector.garbage()
        XCTAssertEqual(garbage.map { heap.id(of: $0) }, [id], "only the finalizer object is in gc.garbage")
        for ref in garbage { heap.release(ref) }
        XCTAssertEqual(collector.statistics[2].uncollectable, 2)
        XCTAssertEqual(collector.clearGarbage(shard: 0), 1)
        // Still a cycle with a legacy finalizer: found again, uncollectable again.
        XCTAssertEqual(try collector.collect(), 2)
        _ = collector.clearGarbage(shard: 0)
        let again = try heap.acquire(id)
        try heap.clear(again)
        heap.release(again)
        XCTAssertEqual(heap.statistics().objects, 0)
    }

    func testSaveAllKeepsEverythingInGarbage() throws {  // test_gc.test_saveall
        collector.setDebugFlags(GCDebugFlags.saveAll)
        defer { collector.setDebugFlags(0) }
        let list = try heap.makeList()
        try heap.append(list, list)
        heap.release(list)
        XCTAssertEqual(try collector.collect(), 1)
        XCTAssertEqual(collector.garbageCount, 1)
        XCTAssertEqual(collector.statistics[2].collected, 1, "saved objects count as collected")
        collector.setDebugFlags(0)
        XCTAssertEqual(collector.clearGarbage(shard: 0), 1)
        XCTAssertEqual(try collector.collect(), 1)
        XCTAssertEqual(heap.statistics().objects, 0)
    }

    func testFinalizerRunsOnceByRefcountOrCollector() throws {  // PEP 442
        let events = EventLog()
        heap.setEventSink { events.append($0) }
        let a = try heap.makeInstance(className: "A")
        try heap.setFinalizer(a, legacy: false)
        try heap.setAttribute(a, "me", a)
        heap.release(a)
        XCTAssertEqual(try collector.collect(), 1)
        XCTAssertEqual(events.finalizers, ["A"])
        let b = try heap.makeInstance(className: "B")
        try heap.setFinalizer(b, legacy: false)
        heap.release(b)
        XCTAssertEqual(events.finalizers, ["A", "B"], "runs at refcount death too")
    }

    func testWeakrefsClearedBeforeCollection() throws {  // test_gc.test_bug1055820b-like
        let events = EventLog()
        heap.setEventSink { events.append($0) }
        let a = try heap.makeInstance(className: "A")
        try heap.setAttribute(a, "me", a)
        let weak = hold(try heap.makeWeakref(to: a))
        let target = try heap.weakrefTarget(weak)
        XCTAssertEqual(target, a)
        heap.release(target!)
        heap.release(a)
        XCTAssertNotNil(try heap.weakrefTarget(weak).map { heap.release($0) })
        XCTAssertEqual(try collector.collect(), 1)
        XCTAssertNil(try heap.weakrefTarget(weak))
        XCTAssertEqual(events.weakrefs, 1)
        XCTAssertEqual(heap.repr(weak).hasSuffix("dead>"), true)
    }

    func testWeakrefFreedAsGarbageLeavesNoDanglingRegistryEntry() throws {
        // Found by the differential test: a weakref collected with a cycle, then its target's death.
        let target = try heap.makeInstance(className: "Node")
        let weak = try heap.makeWeakref(to: target)
        let cycle = try heap.makeList([weak])
        try heap.append(cycle, cycle)
        heap.release(weak)
        heap.release(cycle)
        XCTAssertTrue(heap.isTracked(try heap.makeWeakref(to: target).retained(hold)), "weakrefs are tracked")
        XCTAssertEqual(try collector.collect(), 2, "the list and the weakref in it")
        heap.release(target)  // its registry must not name the freed weakref
        let survivors = held.keys.filter { heap.kind(of: $0) == .weakref }
        XCTAssertEqual(survivors.count, 1)
        XCTAssertNil(try heap.weakrefTarget(survivors[0]))
    }

    /// Freeing a garbage list drops its references to objects outside the garbage from the last item to
    /// the first, as CPython's list_clear does: the events they set off come in that order (found by
    /// the differential test, seed 5000470).
    func testClearingGarbageDropsAListsItemsLastToFirst() throws {
        let events = EventLog()
        heap.setEventSink { events.append($0) }
        let finalized = try heap.makeInstance(className: "F")
        try heap.setFinalizer(finalized, legacy: true)
        let referent = try heap.makeSet()
        _ = hold(try heap.makeWeakref(to: referent))
        // Frozen, the two are outside every collection: the garbage list's clearing frees them by count.
        heap.withWorldStopped { $0.freeze() }
        let list = try heap.makeList([finalized, referent])
        try heap.append(list, list)
        heap.release(finalized)
        heap.release(referent)
        heap.release(list)
        XCTAssertEqual(try collector.collect(), 1)
        XCTAssertEqual(events.finalizersAndWeakrefs, "wf", "the set (last item) dies before the instance")
        heap.withWorldStopped { $0.unfreeze() }
    }

    func testEmptyTupleIsAnImmortalUntrackedSingleton() throws {
        let empty = try heap.makeTuple([])
        XCTAssertEqual(empty, ObjectRef.emptyTuple)
        XCTAssertFalse(heap.isTracked(empty))
        XCTAssertEqual(heap.repr(empty), "()")
        let list = try heap.makeList([empty])
        try heap.append(list, list)
        heap.release(list)
        XCTAssertEqual(try collector.collect(generation: 0), 1, "() is not part of the garbage")
    }

    func testIsTrackedFollowsCPython() throws {  // test_gc.test_is_tracked
        let int = hold(try heap.makeInt(1))
        XCTAssertFalse(heap.isTracked(int))
        XCTAssertFalse(heap.isTracked(.none))
        let list = hold(try heap.makeList())
        XCTAssertTrue(heap.isTracked(list))
        let dict = hold(try heap.makeDict())
        XCTAssertFalse(heap.isTracked(dict), "{} is untracked")
        try heap.setItem(dict, key: "a", int)
        XCTAssertFalse(heap.isTracked(dict), "{'a': 1} is untracked")
        try heap.setItem(dict, key: "b", list)
        XCTAssertTrue(heap.isTracked(dict), "{'b': []} is tracked")
        let atoms = hold(try heap.makeTuple([int, int]))
        XCTAssertTrue(heap.isTracked(atoms), "a new tuple is tracked")
        let holding = hold(try heap.makeTuple([list]))
        _ = try collector.collect(generation: 0)
        XCTAssertFalse(heap.isTracked(atoms), "a collection untracks a tuple of atoms")
        XCTAssertTrue(heap.isTracked(holding))
        XCTAssertTrue(heap.isTracked(try heap.makeSet().retained(hold)))
        try heap.deleteItem(dict, key: "b")
        _ = try collector.collect(generation: 1)
        XCTAssertTrue(heap.isTracked(dict), "only full collections untrack dicts")
        _ = try collector.collect(generation: 2)
        XCTAssertFalse(heap.isTracked(dict), "a full collection untracks a dict of atoms")
    }

    func testCountsAndThresholds() throws {  // test_gc.test_get_count / set_threshold
        _ = try collector.collect()
        XCTAssertEqual(collector.counts, [0, 0, 0])
        var refs: [ObjectRef] = []
        for _ in 0..<5 { refs.append(try heap.makeList()) }
        XCTAssertEqual(collector.counts[0], 5)
        heap.release(refs.removeLast())
        XCTAssertEqual(collector.counts[0], 4, "a dealloc lowers count0")
        _ = try collector.collect(generation: 0)
        XCTAssertEqual(collector.counts, [0, 1, 0])
        _ = try collector.collect(generation: 1)
        XCTAssertEqual(collector.counts, [0, 0, 1])
        for ref in refs { heap.release(ref) }
        XCTAssertEqual(collector.thresholds, [700, 10, 10])
        try collector.setThresholds([5])
        XCTAssertEqual(collector.thresholds, [5, 10, 10])
        XCTAssertThrowsError(try collector.setThresholds([-1]))
        XCTAssertThrowsError(try collector.collect(generation: 3))
    }

    func testAutomaticCollectionRunsOnTheCollectorThread() throws {
        collector.start()
        defer { collector.stop() }
        try collector.setThresholds([100, 10, 10])
        collector.setEnabled(true)
        // Mutators run inside the gate, as sessions do; the collector stops them to collect.
        let deadline = Date().addingTimeInterval(20)
        while collector.statistics[0].collections < 5 && Date() < deadline {
            try heap.gate.shared { () throws(HeapError) in
                let list = try heap.makeList()
                try heap.append(list, list)
                heap.release(list)
            }
        }
        XCTAssertGreaterThanOrEqual(collector.statistics[0].collections, 5)
        XCTAssertGreaterThan(collector.statistics[0].pauses.count, 0)
        collector.setEnabled(false)
        _ = try collector.collect()
        XCTAssertEqual(heap.statistics().objects, 0)
        XCTAssertTrue(collector.isHealthy(bound: 5))
    }

    func testFreeze() throws {  // test_gc.test_freeze
        let list = hold(try heap.makeList())
        collector.setEnabled(false)
        heap.withWorldStopped { $0.freeze() }
        XCTAssertEqual(collector.freezeCount, 1)
        XCTAssertEqual(collector.counts[0], 0)
        heap.withWorldStopped { $0.unfreeze() }
        XCTAssertEqual(collector.freezeCount, 0)
        XCTAssertEqual(heap.statistics().generationLengths[2], 1)
        _ = list
    }

    func testGetObjectsAndReferrers() throws {
        let a = hold(try heap.makeList())
        let b = hold(try heap.makeList())
        try heap.append(a, b)
        let (next, objects) = heap.withWorldStopped { $0.trackedObjects(generation: 0, fromSlot: 0, limit: 1) }
        XCTAssertEqual(objects.count, 1)
        XCTAssertNotEqual(next, 0)
        let (_, referrers) = heap.withWorldStopped { $0.referrers(of: b, fromSlot: 0, limit: 10) }
        XCTAssertEqual(referrers, [a])
        let referents = heap.referents(of: a)
        XCTAssertEqual(referents, [b])
        for ref in referents { heap.release(ref) }
        try heap.clear(a)
    }
}

/// Collects heap events from any thread.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [HeapEvent] = []
    func append(_ event: HeapEvent) { lock.withLock { events.append(event) } }
    var finalizers: [String] {
        lock.withLock {
            events.compactMap {
                if case .finalizer(_, let typeName) = $0 { return typeName }
                return nil
            }
        }
    }
    /// "f" for each finalizer, "w" for each weakref cleared, in order.
    var finalizersAndWeakrefs: String {
        lock.withLock {
            events.compactMap { event -> String? in
                switch event {
                case .finalizer: return "f"
                case .weakrefCleared: return "w"
                default: return nil
                }
            }.joined()
        }
    }
    var weakrefs: Int {
        lock.withLock {
            events.filter {
                if case .weakrefCleared = $0 { return true }
                return false
            }.count
        }
    }
}

extension ObjectRef {
    /// Passes the reference through `body` (for holding it in a test).
    func retained(_ body: (ObjectRef) -> ObjectRef) -> ObjectRef { body(self) }
}
