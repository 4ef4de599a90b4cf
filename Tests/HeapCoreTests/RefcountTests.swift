import HeapCore
import XCTest

final class RefcountTests: HeapTestCase {
    func testNewObjectHasOneReferenceAndFreesAtZero() throws {
        let list = try heap.makeList()
        XCTAssertEqual(heap.refcount(of: list), 1)
        let id = heap.id(of: list)
        heap.retain(list)
        XCTAssertEqual(heap.refcount(of: list), 2)
        heap.release(list)
        XCTAssertEqual(heap.statistics().objectsByKind[.list], 1)
        heap.release(list)
        XCTAssertEqual(heap.statistics().objectsByKind[.list], 0)
        XCTAssertThrowsError(try heap.acquire(id)) { error in
            XCTAssertEqual((error as? HeapError)?.code, .noObject)
        }
    }

    func testImmortalSingletonsNeverChange() {
        for singleton in [ObjectRef.none, .true, .false] {
            let before = heap.refcount(of: singleton)
            heap.retain(singleton)
            heap.release(singleton)
            heap.release(singleton)
            XCTAssertEqual(heap.refcount(of: singleton), before)
            XCTAssertEqual(before, Int(UInt32.max))
        }
    }

    func testStaleIdIsNeverTheNewTenant() throws {
        let first = try heap.makeInt(1)
        let staleID = heap.id(of: first)
        heap.release(first)
        let second = hold(try heap.makeInt(2))
        XCTAssertEqual(heap.id(of: second).slot, staleID.slot, "slot reused")
        XCTAssertNotEqual(heap.id(of: second), staleID)
        XCTAssertThrowsError(try heap.acquire(staleID))
        let again = try heap.acquire(heap.id(of: second))
        XCTAssertEqual(again, second)
        heap.release(again)
        XCTAssertThrowsError(try heap.acquire(ObjectID(rawValue: 123_456_789)))
        XCTAssertThrowsError(try heap.acquire(ObjectID(rawValue: UInt64.max)))
    }

    func testContainerHoldsReferencesAndCascadeFrees() throws {
        let outer = try heap.makeList()
        let inner = try heap.makeList()
        let value = try heap.makeStr("hello")
        try heap.append(inner, value)
        try heap.append(outer, inner)
        XCTAssertEqual(heap.refcount(of: value), 2)
        heap.release(value)
        heap.release(inner)
        XCTAssertEqual(heap.statistics().objects, 3)
        heap.release(outer)
        XCTAssertEqual(heap.statistics().objects, 0)
        XCTAssertEqual(heap.statistics().allocator.blocksInUse.reduce(0, +), 0)
    }

    /// A cascade frees its objects in a batch: a long tuple's or bytes' block (too big for a pool) must
    /// stay allocated until the batch has unlinked the dying containers (a first version freed it at
    /// once, then unlinked through the freed header and corrupted the generation lists; the soak
    /// found it).
    func testCascadeOfLargeAndSmallObjectsLeavesTheGenerationListsSound() throws {
        let outer = try heap.makeList()
        var neighbours: [ObjectRef] = []
        for round in 0..<40 {
            let items = try (0..<200).map { _ in try heap.makeInt(Int64(round)) }
            let bigTuple = try heap.makeTuple(items)
            items.forEach { heap.release($0) }
            let bigList = try heap.makeList()
            for index in 0..<300 {
                let item = try heap.makeInt(Int64(index))
                try heap.append(bigList, item)
                heap.release(item)
            }
            let dict = try heap.makeDict()
            for index in 0..<100 { try heap.setItem(dict, key: "k\(index)", bigTuple) }
            let bytes = try heap.makeBytes([UInt8](repeating: 7, count: 2_000))
            for child in [bigTuple, bigList, dict, bytes] {
                try heap.append(outer, child)
                heap.release(child)
            }
            // Live containers linked between the dying ones: unlinking a dying one rewrites their links.
            neighbours.append(hold(try heap.makeList()))
        }
        heap.release(outer)
        XCTAssertEqual(heap.statistics().objects, neighbours.count, "everything but the neighbours freed")
        let problems = heap.withWorldStopped { $0.verify(externalReferences: held) }
        XCTAssertEqual(problems, [])
        XCTAssertEqual(try heap.collector.collect(generation: 2), 0)
        XCTAssertEqual(heap.statistics().objects, neighbours.count)
    }

    func testTenMillionNodeChainFreesWithoutRecursion() throws {
        // A tenth under a sanitizer (ASan's debug build takes minutes for ten million; a million still
        // overflows any recursive free).
        let handle = dlopen(nil, RTLD_NOW)
        let sanitized = dlsym(handle, "__asan_init") != nil || dlsym(handle, "__tsan_init") != nil
        let count = sanitized ? 1_000_000 : 10_000_000
        let head = try makeListChain(count)
        XCTAssertEqual(heap.statistics().objectsByKind[.list], count)
        heap.release(head)
        let after = heap.statistics()
        XCTAssertEqual(after.objects, 0)
        XCTAssertLessThanOrEqual(after.allocator.arenas, 4, "empty arenas leave the allocator")
        XCTAssertGreaterThan(after.allocator.idleArenas, 0, "to go back to the OS from the collector thread")
    }

    func testTheCollectorThreadReturnsArenasACascadeEmptiedAfterAHeartbeat() throws {
        // Automatic collections off: this thread mutates without the gate (the heartbeat still beats).
        heap.collector.setEnabled(false)
        heap.collector.start()
        defer { heap.collector.stop() }
        // 200,000 lists in a chain take a few dozen arenas; dropping the head frees them all at once.
        let head = try makeListChain(200_000)
        heap.release(head)
        XCTAssertGreaterThan(heap.statistics().allocator.idleArenas, 0, "the cascade did not unmap")
        let deadline = Date().addingTimeInterval(10)
        while heap.statistics().allocator.idleArenas > 0 && Date() < deadline { usleep(20_000) }
        let after = heap.statistics().allocator
        XCTAssertEqual(after.idleArenas, 0, "idle for a heartbeat (0.25 s), returned within the next")
        XCTAssertGreaterThan(after.arenasReleased, 0)
    }

    func testConcurrentRetainReleaseEndsExact() throws {
        let shared = hold(try heap.makeList())
        let threads = 8
        let rounds = 50_000
        let heap = self.heap!
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for _ in 0..<rounds {
                heap.retain(shared)
                heap.release(shared, shard: thread)
            }
        }
        XCTAssertEqual(heap.refcount(of: shared), 1)
    }

    func testConcurrentAppendsAndAllocations() throws {
        let shared = hold(try heap.makeList())
        let heap = self.heap!
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            for index in 0..<5_000 {
                let value = try! heap.makeInt(Int64(index), shard: thread)
                try! heap.append(shared, value, shard: thread)
                heap.release(value, shard: thread)
                if index % 3 == 0 { try! heap.deleteItem(shared, at: -1, shard: thread) }
            }
        }
        XCTAssertEqual(try heap.length(of: shared), 4 * (5_000 - 1_667))
    }

    /// Slots freed on one shard serve allocations on another: the collector frees on one shard while
    /// sessions allocate on theirs, and the table must not grow with every object ever freed.
    func testSlotsFreedOnAnotherShardAreReused() throws {
        let baseline = heap.statistics().slotsEverUsed
        for round in 0..<50_000 {
            let value = try heap.makeInt(Int64(round), shard: 1)
            heap.release(value, shard: 0)
        }
        XCTAssertLessThan(heap.statistics().slotsEverUsed - baseline, 1_000, "slots leak across shards")
    }
}
