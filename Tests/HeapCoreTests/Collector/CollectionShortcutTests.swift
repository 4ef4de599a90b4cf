import HeapCore
import XCTest

/// The walks a collection skips when subtract_refs shows they would find nothing (every candidate's
/// gc_refs at 0: all unreachable; no reference out of the garbage: nothing to drop; no legacy
/// finalizer), and the arenas it empties: the result must be what the full walks give.
final class CollectionShortcutTests: HeapTestCase {
    override func setUp() {
        super.setUp()
        heap.collector.setEnabled(false)
    }

    /// Garbage that references objects outside itself drops those references when it is freed.
    func testGarbageReferencingOutsideObjectsDropsThoseReferences() throws {
        let kept = hold(try heap.makeList())
        let number = hold(try heap.makeInt(1_000_000))
        let a = try heap.makeList([kept, number])
        let b = try heap.makeList([a])
        try heap.append(a, b)
        heap.release(a)
        heap.release(b)
        XCTAssertEqual(heap.refcount(of: kept), 2)
        XCTAssertEqual(try heap.collector.collect(), 2)
        XCTAssertEqual(heap.refcount(of: kept), 1, "the freed cycle's reference to the list is gone")
        XCTAssertEqual(heap.refcount(of: number), 1)
        XCTAssertEqual(heap.statistics().objects, 2)
    }

    /// Garbage that references, besides itself, only survivors of the same collection (no event can
    /// come of dropping those references, so they are dropped in one plain walk): the survivors'
    /// counts go down by the garbage's references, and a survivor the garbage held twice loses both.
    func testGarbageReferencingOnlySurvivorsDropsThoseReferences() throws {
        let survivor = hold(try heap.makeList())
        let other = hold(try heap.makeList())
        try heap.append(survivor, other)
        for _ in 0..<100 {
            let a = try heap.makeList([survivor, other])
            let b = try heap.makeList([a, survivor])
            try heap.append(a, b)
            heap.release(a)
            heap.release(b)
        }
        XCTAssertEqual(heap.refcount(of: survivor), 201)
        XCTAssertEqual(try heap.collector.collect(generation: 0), 200, "the survivors are young too")
        XCTAssertEqual(heap.refcount(of: survivor), 1)
        XCTAssertEqual(heap.refcount(of: other), 2, "the test's and the survivor's")
        XCTAssertEqual(heap.statistics().objects, 2)
    }

    /// Garbage that holds only itself is freed whole.
    func testSelfContainedGarbageIsFreedWhole() throws {
        for _ in 0..<1_000 {
            let a = try heap.makeList()
            let b = try heap.makeList([a])
            try heap.append(a, b)
            heap.release(a)
            heap.release(b)
        }
        XCTAssertEqual(try heap.collector.collect(), 2_000)
        XCTAssertEqual(heap.statistics().objects, 0)
    }

    /// A collection that finds everything unreachable (the shortcut) and one that must walk (an extra
    /// object referenced from outside) report the garbage's finalizers in the same order: young's.
    func testShortcutKeepsTheWalksOrderOfFinalizers() throws {
        func finalizerOrder(withOutsideObject: Bool) throws -> [String] {
            let heap = Heap(configuration: HeapConfiguration(maxObjects: 1 << 16, shardCount: 1))
            heap.collector.setEnabled(false)
            let events = EventLog()
            heap.setEventSink { events.append($0) }
            var ring: [ObjectRef] = []
            for index in 0..<40 {
                let node = try heap.makeInstance(className: "N\(index)")
                if index % 3 != 1 { try heap.setFinalizer(node, legacy: false) }
                if let last = ring.last { try heap.setAttribute(last, "next", node) }
                ring.append(node)
            }
            try heap.setAttribute(ring[39], "next", ring[0])
            var outside: ObjectRef?
            if withOutsideObject { outside = try heap.makeList() }
            for node in ring { heap.release(node) }
            XCTAssertEqual(try heap.collector.collect(), 40)
            if let outside { heap.release(outside) }
            return events.finalizers
        }
        let shortcut = try finalizerOrder(withOutsideObject: false)
        let walked = try finalizerOrder(withOutsideObject: true)
        XCTAssertEqual(shortcut.count, 27)
        XCTAssertEqual(shortcut, walked)
        XCTAssertEqual(shortcut.first, "N0")
    }

    /// Arenas a collection empties are returned to the OS by the time `collect` returns, and the
    /// memory budget has them back.
    func testArenasEmptiedByACollectionAreReturnedWhenItReturns() throws {
        let before = heap.statistics().allocator
        let usedBefore = heap.memoryBudget.used
        for _ in 0..<60_000 {
            let a = try heap.makeList()
            let b = try heap.makeList([a])
            try heap.append(a, b)
            heap.release(a)
            heap.release(b)
        }
        let grown = heap.statistics().allocator
        XCTAssertGreaterThan(grown.arenas, before.arenas + 2, "120,000 lists take several 1 MiB arenas")
        XCTAssertEqual(try heap.collector.collect(), 120_000)
        let after = heap.statistics().allocator
        XCTAssertGreaterThan(after.arenasReleased, grown.arenasReleased)
        XCTAssertLessThan(after.arenas, grown.arenas)
        XCTAssertEqual(
            heap.memoryBudget.used, usedBefore + (after.arenas - before.arenas) * ArenaAllocator.arenaSize,
            "the budget counts exactly the arenas still mapped")
        // Allocation goes on as before.
        let list = try heap.makeList()
        heap.release(list)
    }
}
