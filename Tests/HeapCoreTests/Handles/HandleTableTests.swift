import XCTest

@testable import HeapCore

/// The handle table on its own: claiming, counting, resolving ids, generations on reuse, retired slots,
/// chunks per shard, lowest-first reuse and the refill from other shards' free slots.
final class HandleTableTests: XCTestCase {
    /// Any non-null address: the table stores it and never reads through it.
    private let address = UnsafeMutableRawPointer(bitPattern: 0x1000)!

    func testAClaimedSlotHasOneReferenceAndResolvesByItsID() throws {
        let table = HandleTable(capacity: 1 << 12, shardCount: 1)
        let (slot, generation) = try XCTUnwrap(table.claim(address: address, shard: 0))
        XCTAssertEqual(generation, 0)
        XCTAssertEqual(table.refcount(slot), 1)
        XCTAssertEqual(table.object(slot), address)
        let id = table.id(of: slot)
        XCTAssertEqual(id, ObjectID(slot: slot, generation: 0))
        XCTAssertEqual(table.acquire(id), slot)
        XCTAssertEqual(table.refcount(slot), 2, "acquire takes a counted reference")
    }

    func testAReleasedSlotIsReusedUnderANewGenerationAndTheOldIDIsDead() throws {
        let table = HandleTable(capacity: 1 << 12, shardCount: 1)
        let (slot, _) = try XCTUnwrap(table.claim(address: address, shard: 0))
        let oldID = table.id(of: slot)
        table.word(slot).pointee.store(0, ordering: .relaxed)  // the count reached zero
        table.release(slot, shard: 0)
        XCTAssertNil(table.objectIfAny(slot), "a released slot is empty")
        XCTAssertNil(table.acquire(oldID), "a dead object's id resolves to nothing")
        let reused = try XCTUnwrap(table.claim(address: address + 64, shard: 0))
        XCTAssertEqual(reused.slot, slot, "the shard's only free slot")
        XCTAssertEqual(reused.generation, 1)
        XCTAssertNil(table.acquire(oldID), "never the new tenant")
        XCTAssertEqual(table.acquire(table.id(of: slot)), slot)
    }

    func testMadeUpAndDeadIDsResolveToNothing() throws {
        let table = HandleTable(capacity: 1 << 12, shardCount: 1)
        let (slot, _) = try XCTUnwrap(table.claim(address: address, shard: 0))
        XCTAssertNil(table.acquire(ObjectID(slot: 5_000, generation: 0)), "past the table")
        XCTAssertNil(table.acquire(ObjectID(slot: 63, generation: 0)), "handed to a shard but never claimed")
        XCTAssertNil(table.acquire(ObjectID(slot: slot, generation: 7)), "another generation")
        XCTAssertEqual(table.refcount(slot), 1, "failed acquisitions took nothing")
    }

    func testFreshSlotsComeInChunksOfAWholeCacheLineSpan() throws {
        let table = HandleTable(capacity: 1 << 12, shardCount: 2)
        var first: [UInt32] = []
        for _ in 0..<HandleTable.chunk { first.append(try XCTUnwrap(table.claim(address: address, shard: 0)).slot) }
        XCTAssertEqual(first, (0..<UInt32(HandleTable.chunk)).map { $0 }, "one chunk, handed out in order")
        XCTAssertEqual(table.slotsEverUsed, HandleTable.chunk)
        // Every free list is empty now: the next claim, on another shard, takes a chunk of its own.
        XCTAssertEqual(try XCTUnwrap(table.claim(address: address, shard: 1)).slot, UInt32(HandleTable.chunk))
        XCTAssertEqual(table.slotsEverUsed, 2 * HandleTable.chunk)
    }

    func testAShardWithNoFreeSlotTakesThoseOthersFreedBeforeFreshOnes() throws {
        let table = HandleTable(capacity: 1 << 12, shardCount: 2)
        for _ in 0..<HandleTable.chunk { _ = try XCTUnwrap(table.claim(address: address, shard: 0)) }
        let (elsewhere, _) = try XCTUnwrap(table.claim(address: address, shard: 1))
        table.word(elsewhere).pointee.store(0, ordering: .relaxed)
        table.release(elsewhere, shard: 1)
        let before = table.slotsEverUsed
        // Shard 0's chunk is used up: it refills from shard 1's list instead of growing the table.
        XCTAssertEqual(try XCTUnwrap(table.claim(address: address, shard: 0)).slot, elsewhere)
        XCTAssertEqual(table.slotsEverUsed, before)
    }

    func testFreedSlotsAreReusedLowestFirstWhateverOrderTheyWereFreedIn() throws {
        // As a collection or a cascade frees them: in graph order, not the table's.
        let table = HandleTable(capacity: 1 << 12, shardCount: 1)
        var slots: [UInt32] = []
        for _ in 0..<200 { slots.append(try XCTUnwrap(table.claim(address: address, shard: 0)).slot) }
        var rng = SystemRandomNumberGenerator()
        let freed = slots.filter { $0 % 3 != 0 }.shuffled(using: &rng)
        for slot in freed {
            table.word(slot).pointee.store(0, ordering: .relaxed)
            table.release(slot, shard: 0)
        }
        var reused: [UInt32] = []
        for _ in freed { reused.append(try XCTUnwrap(table.claim(address: address, shard: 0)).slot) }
        XCTAssertEqual(reused, freed.sorted(), "in the table's order, so objects built next are dense in it")
        XCTAssertEqual(table.slotsEverUsed, 4 * HandleTable.chunk, "no fresh slot while freed ones remain")
    }

    func testTheFreeSlotSetFindsTheLowestAcrossItsLevels() {
        // Slots far apart: in different level-0 words, level-1 words and level-2 words.
        let set = FreeSlots(capacity: 1 << 20)
        let slots: [UInt32] = [1 << 19 + 5, 4_097, 64, 63, 262_144, 0, 1 << 20 - 1]
        for slot in slots { set.insert(slot) }
        XCTAssertEqual(set.count, slots.count)
        var taken: [UInt32] = []
        while let slot = set.removeLowest() { taken.append(slot) }
        XCTAssertEqual(taken, slots.sorted())
        XCTAssertEqual(set.count, 0)
        set.insert(4_097)
        XCTAssertEqual(set.removeLowest(), 4_097, "an emptied word's level bits were cleared and set again")
        XCTAssertNil(set.removeLowest())
    }

    func testASlotWhoseGenerationWouldWrapIsRetired() throws {
        let table = HandleTable(capacity: 1 << 12, shardCount: 1)
        let (slot, _) = try XCTUnwrap(table.claim(address: address, shard: 0))
        table.word(slot).pointee.store(UInt64(UInt32.max) << 32, ordering: .relaxed)
        table.release(slot, shard: 0)
        let next = try XCTUnwrap(table.claim(address: address, shard: 0))
        XCTAssertNotEqual(next.slot, slot, "an exhausted slot never comes back")
    }

    func testAFullTableRefusesAClaim() throws {
        let table = HandleTable(capacity: HandleTable.chunk, shardCount: 1)
        for _ in 0..<HandleTable.chunk { XCTAssertNotNil(table.claim(address: address, shard: 0)) }
        XCTAssertNil(table.claim(address: address, shard: 0))
    }

    func testImmortalSlotsCarryACountNoDecrementExhausts() {
        let table = HandleTable(capacity: 1 << 12, shardCount: 1)
        table.claimImmortal(0, address: address)
        XCTAssertEqual(table.refcount(0), 1 << 30)
        XCTAssertEqual(table.acquire(ObjectID(slot: 0, generation: 0)), 0)
    }
}
