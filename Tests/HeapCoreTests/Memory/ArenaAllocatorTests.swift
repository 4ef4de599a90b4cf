import HeapdTesting
import XCTest

@testable import HeapCore

/// The obmalloc-style allocator on its own: size classes, pools found by masking, free lists, pools and
/// arenas given back, large payloads, the memory cap and batched frees.
final class ArenaAllocatorTests: XCTestCase {
    /// Blocks a 512-byte pool holds after its 48-byte header.
    private let blocksPer512Pool = (ArenaAllocator.poolSize - ArenaAllocator.poolHeaderSize) / 512

    func testSmallBlocksAreAlignedInAPoolOfTheirClass() throws {
        let allocator = ArenaAllocator(shardCount: 1)
        for size in [1, 16, 17, 100, 511, 512] {
            let block = try XCTUnwrap(allocator.allocate(size: size, shard: 0))
            defer { allocator.free(block, size: size, shard: 0) }
            XCTAssertEqual(UInt(bitPattern: block) % UInt(SizeClass.alignment), 0, "size \(size)")
            let pool = ArenaAllocator.pool(of: block)
            XCTAssertGreaterThanOrEqual(block - pool, ArenaAllocator.poolHeaderSize, "size \(size): past the header")
            XCTAssertEqual(
                Int(pool.load(fromByteOffset: 24, as: Int32.self)), SizeClass.index(for: size),
                "size \(size): the pool header names the block's class")
            XCTAssertEqual(allocator.statistics().blocksInUse[SizeClass.index(for: size)], 1)
        }
        XCTAssertEqual(allocator.statistics().smallBytesInUse, 0)
    }

    func testAFreedBlockIsTheNextOneHandedOut() throws {
        let allocator = ArenaAllocator(shardCount: 1)
        let first = try XCTUnwrap(allocator.allocate(size: 48, shard: 0))
        let second = try XCTUnwrap(allocator.allocate(size: 48, shard: 0))
        XCTAssertEqual(second - first, 48, "untouched blocks are carved in order")
        allocator.free(first, size: 48, shard: 0)
        XCTAssertEqual(allocator.allocate(size: 48, shard: 0), first, "the free list is last in, first out")
        allocator.free(first, size: 48, shard: 0)
        allocator.free(second, size: 48, shard: 0)
        XCTAssertEqual(allocator.statistics().blocksInUse, Array(repeating: 0, count: SizeClass.count))
    }

    func testBlocksDoNotOverlapAndAFullPoolTakesAnother() throws {
        let allocator = ArenaAllocator(shardCount: 1)
        var blocks: [UnsafeMutableRawPointer] = []
        for index in 0..<(blocksPer512Pool + 1) {
            let block = try XCTUnwrap(allocator.allocate(size: 512, shard: 0))
            block.initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: index), count: 512)
            blocks.append(block)
        }
        XCTAssertEqual(allocator.statistics().poolsInUse, 2, "\(blocksPer512Pool) blocks fill a pool")
        for (index, block) in blocks.enumerated() {
            let bytes = UnsafeRawBufferPointer(start: block, count: 512)
            XCTAssertTrue(bytes.allSatisfy { $0 == UInt8(truncatingIfNeeded: index) }, "block \(index) was overwritten")
        }
        for block in blocks { allocator.free(block, size: 512, shard: 0) }
        let after = allocator.statistics()
        XCTAssertEqual(after.poolsInUse, 0, "an empty pool goes back to its arena")
        XCTAssertEqual(after.arenas, 1, "the shard keeps its only arena")
    }

    func testAnEmptiedArenaIsReturnedWhileTheShardKeepsAnother() throws {
        let allocator = ArenaAllocator(shardCount: 1)
        let perArena = blocksPer512Pool * ArenaAllocator.poolsPerArena
        var blocks: [UnsafeMutableRawPointer] = []
        for _ in 0..<(perArena + 1) {
            blocks.append(try XCTUnwrap(allocator.allocate(size: 512, shard: 0)))
        }
        XCTAssertEqual(allocator.statistics().arenas, 2)
        XCTAssertEqual(allocator.budget.used, 2 * ArenaAllocator.arenaSize, "arenas are counted in the budget")
        for block in blocks { allocator.free(block, size: 512, shard: 0) }
        let idle = allocator.statistics()
        XCTAssertEqual(idle.arenas, 1)
        XCTAssertEqual(idle.idleArenas, 1, "emptied, it stays mapped until the collector thread unmaps it")
        XCTAssertEqual(idle.arenasReleased, 0)
        XCTAssertEqual(allocator.budget.used, ArenaAllocator.arenaSize, "an idle arena is not counted")
        XCTAssertEqual(allocator.unmapIdleArenas(idleFor: 60_000_000_000), 0, "idle for less than a minute")
        XCTAssertEqual(allocator.unmapIdleArenas(), 1)
        let after = allocator.statistics()
        XCTAssertEqual(after.arenas, 1)
        XCTAssertEqual(after.idleArenas, 0)
        XCTAssertEqual(after.arenasReleased, 1)
        XCTAssertEqual(allocator.budget.used, ArenaAllocator.arenaSize)
    }

    func testAnIdleArenaServesAgainBeforeANewOneIsMapped() throws {
        let allocator = ArenaAllocator(shardCount: 1)
        let perArena = blocksPer512Pool * ArenaAllocator.poolsPerArena
        var blocks: [UnsafeMutableRawPointer] = []
        for _ in 0..<(perArena + 1) { blocks.append(try XCTUnwrap(allocator.allocate(size: 512, shard: 0))) }
        let second = ArenaAllocator.pool(of: blocks[perArena])
        for block in blocks.dropFirst() { allocator.free(block, size: 512, shard: 0) }
        XCTAssertEqual(allocator.statistics().idleArenas, 1)
        // The first arena is full again (one block in use and the rest refilled): the next pool comes
        // from the idle arena, at its old address.
        var refill: [UnsafeMutableRawPointer] = []
        for _ in 0..<(perArena - 1) { refill.append(try XCTUnwrap(allocator.allocate(size: 512, shard: 0))) }
        let reused = try XCTUnwrap(allocator.allocate(size: 512, shard: 0))
        let arenaMask = ~UInt(ArenaAllocator.arenaSize - 1)
        XCTAssertEqual(
            UInt(bitPattern: reused) & arenaMask, UInt(bitPattern: second) & arenaMask, "the idle arena, mapped again")
        let stats = allocator.statistics()
        XCTAssertEqual(stats.arenas, 2)
        XCTAssertEqual(stats.idleArenas, 0)
        XCTAssertEqual(stats.arenasReleased, 0, "never returned to the OS")
        XCTAssertEqual(allocator.budget.used, 2 * ArenaAllocator.arenaSize, "counted again")
        for block in refill + [reused, blocks[0]] { allocator.free(block, size: 512, shard: 0) }
    }

    func testLargePayloadsComeFromTheSystemZeroedWhenAsked() throws {
        let allocator = ArenaAllocator(shardCount: 2)
        let size = 100_000
        let block = try XCTUnwrap(allocator.allocate(size: size, shard: 1, zeroed: true))
        XCTAssertTrue(UnsafeRawBufferPointer(start: block, count: size).allSatisfy { $0 == 0 })
        var stats = allocator.statistics()
        XCTAssertEqual(stats.largeBlocks, 1)
        XCTAssertEqual(stats.largeBytes, size)
        XCTAssertEqual(stats.arenas, 0, "no arena for a large payload")
        XCTAssertEqual(allocator.budget.used, size)
        allocator.free(block, size: size, shard: 1)
        stats = allocator.statistics()
        XCTAssertEqual(stats.largeBlocks, 0)
        XCTAssertEqual(stats.largeBytes, 0)
        XCTAssertEqual(allocator.budget.used, 0)
    }

    func testTheCapRefusesWithNilAndTakesNothing() throws {
        let allocator = ArenaAllocator(shardCount: 1, budget: MemoryBudget(cap: ArenaAllocator.arenaSize + 1_000))
        let small = try XCTUnwrap(allocator.allocate(size: 32, shard: 0), "the first arena fits the cap")
        XCTAssertNil(allocator.allocate(size: 2_000, shard: 0), "past the cap")
        XCTAssertEqual(allocator.budget.refused, 1)
        XCTAssertEqual(allocator.budget.used, ArenaAllocator.arenaSize, "a refusal takes nothing")
        let fits = try XCTUnwrap(allocator.allocate(size: 1_000, shard: 0), "exactly at the cap")
        allocator.free(fits, size: 1_000, shard: 0)
        allocator.free(small, size: 32, shard: 0)
    }

    func testABlockGoesBackToTheShardThatOwnsItsPool() throws {
        let allocator = ArenaAllocator(shardCount: 2)
        let block = try XCTUnwrap(allocator.allocate(size: 64, shard: 0))
        let keeper = try XCTUnwrap(allocator.allocate(size: 64, shard: 0))
        XCTAssertEqual(Int(ArenaAllocator.pool(of: block).load(fromByteOffset: 28, as: Int32.self)), 0)
        allocator.free(block, size: 64, shard: 1)  // freed by another thread's shard
        XCTAssertEqual(allocator.allocate(size: 64, shard: 0), block, "shard 0 got its block back")
        let other = try XCTUnwrap(allocator.allocate(size: 64, shard: 1))
        XCTAssertNotEqual(ArenaAllocator.pool(of: other), ArenaAllocator.pool(of: block), "shards share no pool")
        for (freed, shard) in [(block, 0), (keeper, 0), (other, 1)] { allocator.free(freed, size: 64, shard: shard) }
        XCTAssertEqual(allocator.statistics().blocksInUse[SizeClass.index(for: 64)], 0)
    }

    func testFreeBatchReturnsBlocksOfEveryShardAndClass() throws {
        let allocator = ArenaAllocator(shardCount: 3)
        var blocks: [UnsafeMutableRawPointer] = []
        var generator = SeededGenerator(seed: 11)
        for index in 0..<5_000 {
            let size = 1 + Int(generator.next() % 512)
            blocks.append(try XCTUnwrap(allocator.allocate(size: size, shard: index % 3)))
        }
        XCTAssertEqual(allocator.statistics().blocksInUse.reduce(0, +), 5_000)
        blocks.withUnsafeBufferPointer { allocator.freeBatch($0) }
        let after = allocator.statistics()
        XCTAssertEqual(after.blocksInUse.reduce(0, +), 0)
        XCTAssertEqual(after.poolsInUse, 0)
    }
}
