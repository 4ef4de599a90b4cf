import Foundation
import HeapCore
import Synchronization
import XCTest

/// Rules where heapd once differed from CPython 3.11, each checked against the real interpreter (the
/// Python in each comment prints what the test expects, with `_testcapi.with_tp_del` for a real
/// `tp_del`) and stated here as CPython's `Modules/gcmodule.c` or `Objects/*.c` has it.
final class CPythonFidelityTests: HeapTestCase {
    var collector: CycleCollector { heap.collector }

    override func setUp() {
        super.setUp()
        collector.setEnabled(false)
        _ = try? collector.collect()
    }

    // MARK: Legacy finalizers (gc_collect_main: count and save the finalizers after delete_garbage)

    /// `l = []; l.append(l); o = Node(); l.append(o); del o, l; gc.collect()` with a tp_del Node: 1, o's
    /// tp_del runs while the list is cleared, gc.garbage stays empty, 0 uncollectable.
    func testLegacyFinalizerHangingOffACycleDiesWhenTheCycleIsCleared() throws {
        let events = OrderedEvents()
        heap.setEventSink { events.append($0) }
        let list = try heap.makeList()
        try heap.append(list, list)
        let node = try heap.makeInstance(className: "Node")
        try heap.setFinalizer(node, legacy: true)
        try heap.append(list, node)
        heap.release(node)
        heap.release(list)
        XCTAssertEqual(try collector.collect(), 1, "only the list is counted")
        XCTAssertEqual(collector.garbageCount, 0)
        XCTAssertEqual(collector.statistics[2].collected, 1)
        XCTAssertEqual(collector.statistics[2].uncollectable, 0)
        XCTAssertEqual(events.names, ["start", "f:Node", "stop"], "tp_del runs when the list's clearing frees it")
        XCTAssertEqual(heap.statistics().objects, 0)
    }

    /// `o.x = [o2]` with o and o2 tp_del instances, o hanging off a cycle: 1; both tp_dels run; nothing
    /// uncollectable (what a dying finalizer object alone holds dies with it).
    func testWhatADyingLegacyObjectAloneHoldsDiesWithIt() throws {
        let events = OrderedEvents()
        heap.setEventSink { events.append($0) }
        let list = try heap.makeList()
        try heap.append(list, list)
        let first = try heap.makeInstance(className: "First")
        let second = try heap.makeInstance(className: "Second")
        try heap.setFinalizer(first, legacy: true)
        try heap.setFinalizer(second, legacy: true)
        let holder = try heap.makeList([second])
        try heap.setAttribute(first, "x", holder)
        try heap.append(list, first)
        for ref in [holder, second, first, list] { heap.release(ref) }
        XCTAssertEqual(try collector.collect(), 1)
        XCTAssertEqual(collector.statistics[2].uncollectable, 0)
        XCTAssertEqual(events.names.filter { $0.hasPrefix("f:") }, ["f:First", "f:Second"])
        XCTAssertEqual(heap.statistics().objects, 0)
    }

    /// A legacy object in a cycle of its own (`o.p = [o]`) that a collectable cycle also references:
    /// 3 (the list collected, o and p uncollectable), gc.garbage == [o].
    func testLegacyObjectInItsOwnCycleStaysUncollectable() throws {
        let list = try heap.makeList()
        try heap.append(list, list)
        let node = try heap.makeInstance(className: "Node")
        try heap.setFinalizer(node, legacy: true)
        let back = try heap.makeList([node])
        try heap.setAttribute(node, "p", back)
        try heap.append(list, node)
        let nodeID = heap.id(of: node)
        for ref in [back, node, list] { heap.release(ref) }
        XCTAssertEqual(try collector.collect(), 3)
        XCTAssertEqual(collector.statistics[2].uncollectable, 2)
        let garbage = collector.garbage()
        XCTAssertEqual(garbage.map { heap.id(of: $0) }, [nodeID])
        let node2 = garbage[0]
        try heap.deleteAttribute(node2, "p")
        heap.release(node2)
        XCTAssertEqual(collector.clearGarbage(shard: 0), 1)
        XCTAssertEqual(heap.statistics().objects, 0)
    }

    /// Under DEBUG_SAVEALL nothing is cleared: the hanging legacy object is uncollectable and saved.
    /// (`gc.set_debug(gc.DEBUG_SAVEALL)`: 2, gc.garbage == [l, o].)
    func testSaveAllKeepsTheHangingLegacyObject() throws {
        collector.setDebugFlags(GCDebugFlags.saveAll)
        defer { collector.setDebugFlags(0) }
        let list = try heap.makeList()
        try heap.append(list, list)
        let node = try heap.makeInstance(className: "Node")
        try heap.setFinalizer(node, legacy: true)
        try heap.append(list, node)
        heap.release(node)
        heap.release(list)
        XCTAssertEqual(try collector.collect(), 2)
        XCTAssertEqual(collector.garbageCount, 2)
        XCTAssertEqual(collector.statistics[2].uncollectable, 1)
        collector.setDebugFlags(0)
        XCTAssertEqual(collector.clearGarbage(shard: 0), 2)
        _ = try collector.collect()
        XCTAssertEqual(heap.statistics().objects, 0)
    }

    /// handle_weakrefs clears weakrefs to the collectable objects; a weakref among the uncollectable
    /// ones is not garbage (move_legacy_finalizers cleared its "collecting" bit), so its callback runs,
    /// and it leaves the finalizers for that: it is neither counted nor saved.
    /// (`n.me = n; o.me = o; o.w = weakref.ref(n, cb)`, o with tp_del: 2, the callback runs, gc.garbage
    /// == [o], 1 uncollectable; under DEBUG_SAVEALL gc.garbage == [n, o].)
    func testWeakrefAmongTheUncollectableGetsItsCallbackAndIsNotCounted() throws {
        for saveAll in [false, true] {
            collector.setDebugFlags(saveAll ? GCDebugFlags.saveAll : 0)
            let events = OrderedEvents()
            heap.setEventSink { events.append($0) }
            let target = try heap.makeInstance(className: "N")
            try heap.setAttribute(target, "me", target)
            let node = try heap.makeInstance(className: "Legacy")
            try heap.setFinalizer(node, legacy: true)
            try heap.setAttribute(node, "me", node)
            let weak = try heap.makeWeakref(to: target)
            try heap.setAttribute(node, "w", weak)
            for ref in [weak, node, target] { heap.release(ref) }
            let uncollectableBefore = collector.statistics[2].uncollectable
            XCTAssertEqual(try collector.collect(), 2, "n collected, o uncollectable; not the weakref")
            XCTAssertEqual(collector.statistics[2].uncollectable - uncollectableBefore, 1)
            XCTAssertEqual(events.names, ["start", "w", "stop"])
            let garbage = collector.garbage()
            XCTAssertEqual(garbage.map { heap.typeName(of: $0) }.sorted(), saveAll ? ["Legacy", "N"] : ["Legacy"])
            collector.setDebugFlags(0)
            for ref in garbage {
                try heap.deleteAttribute(ref, "me")
                heap.release(ref)
            }
            _ = collector.clearGarbage(shard: 0)
            XCTAssertEqual(heap.statistics().objects, 0)
        }
    }

    /// subtype_dealloc: `__del__` (tp_finalize) runs before the weakrefs are cleared, tp_del after.
    func testLegacyFinalizerRunsAfterWeakrefCallbacksAtRefcountDeath() throws {
        let events = OrderedEvents()
        heap.setEventSink { events.append($0) }
        let legacy = try heap.makeInstance(className: "Legacy")
        try heap.setFinalizer(legacy, legacy: true)
        let weakToLegacy = hold(try heap.makeWeakref(to: legacy))
        heap.release(legacy)
        XCTAssertEqual(events.names, ["w", "f:Legacy"])
        let modern = try heap.makeInstance(className: "Modern")
        try heap.setFinalizer(modern, legacy: false)
        let weakToModern = hold(try heap.makeWeakref(to: modern))
        heap.release(modern)
        XCTAssertEqual(events.names, ["w", "f:Legacy", "f:Modern", "w"])
        _ = (weakToLegacy, weakToModern)
    }

    /// `l = [w, n]` with `w = weakref.ref(n, cb)` and nothing else holding them: `l.clear()` releases
    /// the items last to first (_list_clear), so n dies while w lives and the callback runs.
    func testListClearReleasesLastToFirst() throws {
        let events = OrderedEvents()
        heap.setEventSink { events.append($0) }
        let node = try heap.makeInstance(className: "N")
        let weak = try heap.makeWeakref(to: node)
        let list = hold(try heap.makeList([weak, node]))
        heap.release(weak)
        heap.release(node)
        try heap.clear(list)
        XCTAssertEqual(events.names, ["w"])
    }

    // MARK: Freeze (gc_freeze_impl)

    /// 3.11: `gc.freeze()` zeroes all three counts (`(31, 1, 3)` before, `(0, 0, 0)` after).
    func testFreezeZeroesAllThreeCounts() throws {
        let kept = hold(try heap.makeList())
        _ = try collector.collect(generation: 0)
        _ = try collector.collect(generation: 0)
        _ = try collector.collect(generation: 1)
        _ = try collector.collect(generation: 0)
        let more = hold(try heap.makeList())
        XCTAssertEqual(collector.counts, [1, 1, 1])
        heap.withWorldStopped { $0.freeze() }
        XCTAssertEqual(collector.counts, [0, 0, 0])
        heap.withWorldStopped { $0.unfreeze() }
        XCTAssertEqual(collector.counts, [0, 0, 0], "unfreeze leaves the counts")
        _ = (kept, more)
    }

    // MARK: get_referrers (gc_referrers_for over generations 0-2) and get_referents (tp_traverse)

    func testReferrersIgnoreThePermanentGeneration() throws {
        let target = hold(try heap.makeList())
        let holder = hold(try heap.makeList([target]))
        heap.withWorldStopped { $0.freeze() }
        let (_, frozen) = heap.withWorldStopped { $0.referrers(of: target, fromSlot: 0, limit: 10) }
        XCTAssertEqual(frozen, [], "a frozen holder is not searched")
        heap.withWorldStopped { $0.unfreeze() }
        let (_, thawed) = heap.withWorldStopped { $0.referrers(of: target, fromSlot: 0, limit: 10) }
        XCTAssertEqual(thawed, [holder])
        try heap.clear(holder)
    }

    /// list_traverse and tupletraverse visit items last to first.
    func testReferentsOfSequencesAreLastToFirst() throws {
        let a = hold(try heap.makeInt(1))
        let b = hold(try heap.makeStr("a"))
        let c = hold(try heap.makeList())
        let list = hold(try heap.makeList([a, b, c]))
        let tuple = hold(try heap.makeTuple([c, b, a]))
        XCTAssertEqual(referents(list), [c, b, a])
        XCTAssertEqual(referents(tuple), [a, b, c])
    }

    /// dict_traverse of a str-keyed dict visits only the values: `gc.get_referents({"k": [1], "j": "s"})`
    /// is `[[1], 's']`; and get_referrers of a key does not find the dict.
    func testReferentsOfADictAreItsValues() throws {
        let dict = hold(try heap.makeDict())
        let first = hold(try heap.makeList())
        let second = hold(try heap.makeStr("s"))
        try heap.setItem(dict, key: "k", first)
        try heap.setItem(dict, key: "j", second)
        XCTAssertEqual(referents(dict), [first, second])
        let key = hold(try heap.makeStr("key"))
        try heap.setItem(dict, key: key, first)
        XCTAssertEqual(referents(dict), [first, second, first])
        let (_, referrers) = heap.withWorldStopped { $0.referrers(of: key, fromSlot: 0, limit: 10) }
        XCTAssertEqual(referrers, [], "a dict's keys are not visited")
        let (_, ofValue) = heap.withWorldStopped { $0.referrers(of: first, fromSlot: 0, limit: 10) }
        XCTAssertEqual(ofValue, [dict])
        try heap.clear(dict)
    }

    /// subtype_traverse visits the values and the type, not the attribute names:
    /// `c.x = [1]; c.y = "str"; gc.get_referents(c)` is `[[1], 'str', <class C>]`.
    func testReferentsOfAnInstanceAreItsValuesThenItsType() throws {
        let node = hold(try heap.makeInstance(className: "C"))
        let x = hold(try heap.makeList())
        let y = hold(try heap.makeStr("str"))
        try heap.setAttribute(node, "x", x)
        try heap.setAttribute(node, "y", y)
        let found = referents(node)
        XCTAssertEqual(Array(found.prefix(2)), [x, y])
        XCTAssertEqual(found.count, 3)
        XCTAssertEqual(heap.kind(of: found[2]), .str)
        XCTAssertEqual(heap.repr(found[2]), "'C'", "the class name stands for the type")
        try heap.deleteAttribute(node, "x")
    }

    /// A weakref's traverse visits only its callback, which heapd has as an event, not an object; a set
    /// visits its elements.
    func testReferentsOfWeakrefsAndSets() throws {
        let target = hold(try heap.makeInstance(className: "T"))
        let weak = hold(try heap.makeWeakref(to: target))
        XCTAssertEqual(referents(weak), [])
        let one = hold(try heap.makeInt(1))
        let set = hold(try heap.makeSet([one]))
        XCTAssertEqual(referents(set), [one])
    }

    // MARK: The unreachable set, without collecting

    func testUnreachableIsWhatAFullCollectionFinds() throws {
        let kept = hold(try heap.makeList())
        try heap.append(kept, kept)
        // Cyclic garbage: a two-list cycle with a tuple of atoms hanging off it.
        let a = try heap.makeList()
        let b = try heap.makeList([a])
        try heap.append(a, b)
        let atom = try heap.makeInt(5)
        let tuple = try heap.makeTuple([atom, b])
        try heap.append(a, tuple)
        for ref in [atom, tuple, b, a] { heap.release(ref) }
        // Garbage a frozen object references is not found (the permanent generation is outside).
        let frozenCycle = try heap.makeList()
        try heap.append(frozenCycle, frozenCycle)
        heap.release(frozenCycle)
        heap.withWorldStopped { $0.freeze() }
        // Everything so far is frozen; only the garbage made after freezing is found.
        let held = try heap.makeList()
        let loop = try heap.makeList([held])
        try heap.append(held, loop)
        heap.release(loop)
        heap.release(held)
        let (next, found) = heap.withWorldStopped { $0.unreachable(roots: [], fromSlot: 0, limit: 100) }
        XCTAssertEqual(next, 0)
        XCTAssertEqual(found.count, 2, "the held/loop cycle; the frozen ones are never examined")
        XCTAssertEqual(try collector.collect(), 2)
        heap.withWorldStopped { $0.unfreeze() }
        let roots = [HeapRoot(label: "kept", ref: kept, holder: .variable)]
        let (_, all) = heap.withWorldStopped { $0.unreachable(roots: roots, fromSlot: 0, limit: 100) }
        XCTAssertEqual(all.count, 4, "a, b, the tuple and the frozen cycle once unfrozen; not kept")
        let (cursor, first) = heap.withWorldStopped { $0.unreachable(roots: roots, fromSlot: 0, limit: 1) }
        XCTAssertEqual(first.count, 1)
        XCTAssertNotEqual(cursor, 0)
        let (end, none) = heap.withWorldStopped {
            $0.unreachable(roots: roots, fromSlot: Int.max, limit: 1)
        }
        XCTAssertEqual(end, 0)
        XCTAssertEqual(none, [])
        XCTAssertEqual(try collector.collect(), 4)
        try heap.clear(kept)
    }

    // MARK: Waiting for collections

    func testWaitingForCollections() throws {
        let seen = Mutex<[Int?]>([])
        let before = collector.collectionCount
        XCTAssertEqual(collector.whenCollectionsComplete(before) { _ in }, .reached(before))
        guard
            case .waiting = collector.whenCollectionsComplete(
                before + 2,
                notify: { count in
                    seen.withLock { $0.append(count) }
                })
        else { return XCTFail("expected to wait") }
        guard
            case .waiting(let cancelled) = collector.whenCollectionsComplete(
                before + 1,
                notify: { _ in
                    XCTFail("a cancelled wait is not notified")
                })
        else { return XCTFail("expected to wait") }
        collector.cancelWait(cancelled)
        _ = try collector.collect(generation: 0)
        XCTAssertEqual(seen.withLock { $0 }, [])
        _ = try collector.collect(generation: 0)
        XCTAssertEqual(seen.withLock { $0 }, [before + 2])
        guard
            case .waiting = collector.whenCollectionsComplete(
                before + 10,
                notify: { count in
                    seen.withLock { $0.append(count) }
                })
        else { return XCTFail("expected to wait") }
        collector.stop()
        XCTAssertEqual(seen.withLock { $0 }, [before + 2, nil], "stopping tells the waiters")
        XCTAssertEqual(collector.whenCollectionsComplete(before + 10) { _ in }, .stopping)
    }

    // MARK: Helpers

    private func referents(_ ref: ObjectRef) -> [ObjectRef] {
        let found = heap.referents(of: ref)
        for child in found { heap.release(child) }
        return found
    }

    // MARK: Orders of weakref callbacks and of clearing

    /// Every `weakref.ref(o, cb)` goes to the head of o's list (`insert_head`): `a, b, c = (ref(o, cb)
    /// for …); del o` calls c, b, a.
    func testWeakrefCallbacksRunNewestFirst() throws {
        let weakrefs = WeakrefIDs()
        heap.setEventSink { if case .weakrefCleared(let weakref, _) = $0 { weakrefs.append(weakref) } }
        let object = try heap.makeInstance(className: "N")
        let refs = try (0..<3).map { _ in hold(try heap.makeWeakref(to: object)) }
        heap.release(object)
        XCTAssertEqual(weakrefs.all, refs.reversed().map { heap.id(of: $0) })
    }

    /// `del gc.garbage[:]` drops the slice last to first (`list_ass_slice`): two uncollectable tp_del
    /// cycles saved in gc.garbage as [a, b] have their tp_dels run b, a once the list is emptied and
    /// their cycles broken.
    func testEmptyingGarbageDropsItsEntriesLastToFirst() throws {
        let events = OrderedEvents()
        heap.setEventSink { events.append($0) }
        for name in ["A", "B"] {
            let node = try heap.makeInstance(className: name)
            try heap.setFinalizer(node, legacy: true)
            try heap.setAttribute(node, "me", node)
            heap.release(node)
        }
        XCTAssertEqual(try collector.collect(), 2)
        XCTAssertEqual(collector.garbageCount, 2)
        // Break both cycles through gc.garbage's own references, then empty it.
        let saved = collector.garbage()
        XCTAssertEqual(saved.map { heap.typeName(of: $0) }, ["A", "B"])
        for node in saved {
            try heap.deleteAttribute(node, "me")
            heap.release(node)
        }
        XCTAssertEqual(collector.clearGarbage(shard: 0), 2)
        XCTAssertEqual(events.names.suffix(2), ["f:B", "f:A"])
    }

    /// delete_garbage clears the garbage in order, and a garbage object whose count reaches zero
    /// meanwhile dies at once, before its referrer's clearing goes on; a tuple has no tp_clear. With
    /// n1, n2 old: `t = (n1,); l = [t, n2]; l.append(l); del t, l; gc.collect(0)` calls n2's weakref
    /// callback, then n1's (the list drops n2, then t, whose death drops n1).
    func testGarbageDyingByCountDuringClearingDropsItsReferencesThen() throws {
        let weakrefs = WeakrefIDs()
        let n1 = hold(try heap.makeInstance(className: "N"))
        let n2 = hold(try heap.makeInstance(className: "N"))
        let w1 = hold(try heap.makeWeakref(to: n1))
        let w2 = hold(try heap.makeWeakref(to: n2))
        _ = try collector.collect()
        let tuple = try heap.makeTuple([n1])
        let list = try heap.makeList()
        try heap.append(list, tuple)
        try heap.append(list, n2)
        try heap.append(list, list)
        heap.release(tuple)
        heap.release(list)
        drop(n1)
        drop(n2)
        heap.setEventSink { if case .weakrefCleared(let weakref, _) = $0 { weakrefs.append(weakref) } }
        XCTAssertEqual(try collector.collect(generation: 0), 2)
        XCTAssertEqual(weakrefs.all, [heap.id(of: w2), heap.id(of: w1)])
    }

    /// A dying container drops its references one at a time, and a referent that dies meanwhile is
    /// deallocated at once (`Py_DECREF`), before the next reference is dropped: with `o` a `__del__`
    /// instance, `w = ref(o, cb); t = (o, w); l = [w, t]; del o, w, t, l` runs `__del__`, then `w`'s
    /// callback (`l` drops `t` first; `t`'s death drops `w`, still held by `l`, then `o`).
    func testAReferentDyingDuringItsContainersDeathIsFreedBeforeTheNextReferenceDrops() throws {
        let events = OrderedEvents()
        heap.setEventSink { events.append($0) }
        let object = try heap.makeInstance(className: "D")
        try heap.setFinalizer(object, legacy: false)
        let weak = try heap.makeWeakref(to: object)
        let tuple = try heap.makeTuple([object, weak])
        let list = try heap.makeList()
        try heap.append(list, weak)
        try heap.append(list, tuple)
        [object, weak, tuple].forEach { heap.release($0) }
        heap.release(list)
        XCTAssertEqual(events.names, ["f:D", "w"])
        XCTAssertEqual(heap.statistics().objects, 0)
    }

    /// A chain of one-item lists and tuples (freed without a run on the release stack) with an
    /// instance link in the middle (freed the general way): each link finalizes, then clears its
    /// weakrefs, before its item drops, in chain order (subtype_dealloc's order); a shared item ends the
    /// cascade.
    func testAChainOfOneItemContainersDiesLinkByLinkInCPythonsOrder() throws {
        let events = OrderedEvents()
        heap.setEventSink { events.append($0) }
        let shared = try heap.makeList()
        hold(shared)
        let l5 = try heap.makeList()
        try heap.append(l5, shared)
        try heap.setFinalizer(l5, legacy: false)
        let l4 = try heap.makeList()
        try heap.append(l4, l5)
        let i3 = try heap.makeInstance(className: "I")
        try heap.setAttribute(i3, "next", l4)
        try heap.setFinalizer(i3, legacy: false)
        let t2 = try heap.makeTuple([i3])
        let l1 = try heap.makeList()
        try heap.append(l1, t2)
        try heap.setFinalizer(l1, legacy: false)
        let l0 = try heap.makeList()
        try heap.append(l0, l1)
        let weakrefs = try [l0, t2, l4].map { try heap.makeWeakref(to: $0) }
        [l5, l4, i3, t2, l1].forEach { heap.release($0) }
        heap.release(l0)
        XCTAssertEqual(events.names, ["w", "f:list", "w", "f:I", "w", "f:list"])
        XCTAssertEqual(heap.refcount(of: shared), 1, "the shared item lost the chain's reference only")
        weakrefs.forEach { heap.release($0) }
        XCTAssertEqual(heap.statistics().objects, 1)
    }
}

/// Events in the order the heap reported them: `start`, `stop`, `w` (a weakref cleared), `f:Type`.
final class OrderedEvents: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [String] = []

    func append(_ event: HeapEvent) {
        let name: String
        switch event {
        case .finalizer(_, let typeName): name = "f:" + typeName
        case .weakrefCleared: name = "w"
        case .collectionStarted: name = "start"
        case .collectionFinished: name = "stop"
        case .debug: return
        }
        lock.withLock { events.append(name) }
    }

    var names: [String] { lock.withLock { events } }

    func removeAll() { lock.withLock { events.removeAll() } }
}

/// The weakrefs whose callbacks ran, in order.
final class WeakrefIDs: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: [ObjectID] = []
    func append(_ id: ObjectID) { lock.withLock { ids.append(id) } }
    var all: [ObjectID] { lock.withLock { ids } }
}
