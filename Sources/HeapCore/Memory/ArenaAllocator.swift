import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

// MARK: - The layout, in one picture
//
// heapd's small-object allocator follows CPython's obmalloc: memory comes from the OS in *arenas*
// (1 MiB, mmap'd, aligned to 1 MiB), an arena is cut into 64 *pools* of 16 KiB, and a pool serves blocks
// of a single size class. Every pool starts with a header, so the pool of any block is found by masking
// the block's address, and the arena of any pool the same way:
//
//     arena (1 MiB, aligned)                    pool (16 KiB, aligned)
//     +--------+--------+-----+--------+        +-----------+-------+-------+-----+-------+
//     | pool 0 | pool 1 | ... | pool63 |        | header 48 | block | block | ... | block |
//     +--------+--------+-----+--------+        +-----------+-------+-------+-----+-------+
//
//     pool header:  0 freeList  8 nextPool  16 prevPool  24 sizeClass:Int32  28 shard:Int32
//                   32 used:Int32  36 bumpOffset:Int32  40 inUsableList:Int32  44 unused
//
// Freed blocks are threaded into the pool's free list through their first eight bytes; blocks never
// handed out yet are carved lazily with a bump offset. A pool with free blocks sits in its shard's
// "usable" list for its class; a pool that empties goes back to its arena, and an arena whose pools are
// all free leaves the allocator as long as its shard keeps another one. It stays mapped, *idle*, for a
// while: the shard maps it again before asking the OS for a new one, and the collector thread returns
// it to the OS (munmap) once it has been idle for a heartbeat, or right after a collection answered
// (``ArenaAllocator/unmapIdleArenas(idleFor:)``). No mutator and no stop pays for a munmap.
//
// Scaling: the allocator is split into shards, each with its own spin lock, pools and arenas. A mutator
// thread allocates from its own shard; a block is always freed into the shard that owns its pool (read
// from the pool header), so two threads contend only when one frees what the other allocated.

/// Counters of one allocator shard; summed over shards by ``ArenaAllocator/statistics()``.
public struct AllocatorStatistics: Sendable, Equatable {
    /// Blocks in use, per size class (index 0 = 16 bytes … 31 = 512 bytes).
    public var blocksInUse: [Int] = Array(repeating: 0, count: SizeClass.count)
    /// Pools currently carved for some size class.
    public var poolsInUse = 0
    /// Arenas currently mapped.
    public var arenas = 0
    /// Payloads larger than a pool block, served by the system allocator.
    public var largeBlocks = 0
    /// Bytes of those large payloads.
    public var largeBytes = 0
    /// Arenas ever returned to the OS.
    public var arenasReleased = 0
    /// Emptied arenas still mapped, waiting to be used again or returned to the OS (not in `arenas`).
    public var idleArenas = 0

    /// Bytes of small blocks in use (block size × blocks).
    public var smallBytesInUse: Int {
        blocksInUse.enumerated().reduce(0) { $0 + SizeClass.blockSize($1.offset) * $1.element }
    }

    /// Bytes mapped for arenas.
    public var arenaBytes: Int { arenas * ArenaAllocator.arenaSize }

    static func + (lhs: Self, rhs: Self) -> Self {
        var sum = lhs
        for index in 0..<SizeClass.count { sum.blocksInUse[index] += rhs.blocksInUse[index] }
        sum.poolsInUse += rhs.poolsInUse
        sum.arenas += rhs.arenas
        sum.largeBlocks += rhs.largeBlocks
        sum.largeBytes += rhs.largeBytes
        sum.arenasReleased += rhs.arenasReleased
        sum.idleArenas += rhs.idleArenas
        return sum
    }
}

/// An obmalloc-style allocator of small blocks in pools and arenas, sharded for threads.
///
/// All memory-unsafe pointer arithmetic of the allocator lives in this file. Callers hand back exactly
/// the size they asked for, which is how a large payload is told from a pool block without a lookup.
public final class ArenaAllocator: @unchecked Sendable {
    /// Bytes per arena (and its alignment).
    public static let arenaSize = 1 << 20
    /// Bytes per pool (and its alignment).
    public static let poolSize = 16 << 10
    static let poolsPerArena = arenaSize / poolSize
    static let poolHeaderSize = 48

    private let shards: [Shard]
    /// The shards again, unretained, so the hot paths pay no reference counting to reach one.
    private let shardTable: UnsafeMutablePointer<Unmanaged<Shard>>
    public let shardCount: Int
    /// tracemalloc: sees every block handed out and returned while it is tracing.
    public let tracer: AllocationTracer
    /// The cap on memory taken from the OS (arenas and large payloads), shared by every shard.
    public let budget: MemoryBudget

    /// Creates an allocator with `shardCount` independent shards (at least one) under `budget`.
    public init(shardCount: Int, budget: MemoryBudget = MemoryBudget()) {
        let count = max(1, shardCount)
        self.budget = budget
        let tracer = AllocationTracer(shardCount: count)
        shards = (0..<count).map { Shard(index: $0, budget: budget, tracer: tracer) }
        self.shardCount = count
        self.tracer = tracer
        shardTable = .allocate(capacity: count)
        for (index, shard) in shards.enumerated() { (shardTable + index).initialize(to: .passUnretained(shard)) }
    }

    deinit {
        for shard in shards { shard.releaseAll() }
        shardTable.deallocate()
    }

    /// Allocates `size` bytes (uninitialized, or zeroed when `zeroed`; 16-byte aligned) from shard
    /// `shard`, or returns nil when the memory cap or the OS refuses (the caller answers `LIMIT`; heapd
    /// never aborts for memory).
    ///
    /// Why `zeroed` is the allocator's job: a large zeroed payload comes from `calloc`, whose fresh
    /// pages are zero already, so `bytes(3_000_000_000)` neither writes nor makes resident 3 GB.
    @inline(__always)
    public func allocate(size: Int, shard: Int, zeroed: Bool = false) -> UnsafeMutableRawPointer? {
        let owner = shard % shardCount
        let block = shardTable[owner]._withUnsafeGuaranteedRef { owner in
            if size > SizeClass.maxSmall {
                return owner.allocateLarge(size: size, zeroed: zeroed)
            }
            let small = owner.allocateSmall(classIndex: SizeClass.index(for: size), size: size)
            if zeroed, let small { small.initializeMemory(as: UInt8.self, repeating: 0, count: size) }
            return small
        }
        return block
    }

    /// Returns a block obtained from ``allocate(size:shard:)`` with the same `size`.
    ///
    /// `shard` only matters for large payloads (whose counters it adjusts); a small block always
    /// goes back to the shard that owns its pool.
    @inline(__always)
    public func free(_ block: UnsafeMutableRawPointer, size: Int, shard: Int) {
        // Forgotten before the block can be handed out again, so a new trace is never dropped (a small
        // block's by its shard, in the same critical section that frees it).
        if size > SizeClass.maxSmall {
            if tracer.isTracing { tracer.forgetLarge(block) }
            shardTable[shard % shardCount]._withUnsafeGuaranteedRef { $0.freeLarge(block, size: size) }
            return
        }
        let pool = Self.pool(of: block)
        let owner = Int(pool.load(fromByteOffset: 28, as: Int32.self))
        shardTable[owner]._withUnsafeGuaranteedRef { $0.freeSmall(block, pool: pool) }
    }

    /// Returns many small blocks at once (each obtained with a size of at most ``SizeClass/maxSmall``).
    ///
    /// Why: freeing a million objects one by one takes a million lock round trips. Here a shard's lock
    /// is taken once per run of blocks from one pool (garbage freed together was mostly allocated
    /// together, so runs are long), and the block is returned exactly as ``free(_:size:shard:)`` would.
    public func freeBatch(_ blocks: UnsafeBufferPointer<UnsafeMutableRawPointer>) {
        // Blocks freed together were mostly made together: consecutive ones share a pool. Each run of
        // one pool's blocks is freed at once (one counter update; no block is threaded on the free
        // list of a pool the run empties), under the owning shard's lock taken for that run: two
        // threads freeing one shard's garbage at once then take turns by pool, not by batch.
        var index = 0
        while index < blocks.count {
            let pool = Self.pool(of: blocks[index])
            var end = index + 1
            while end < blocks.count && Self.pool(of: blocks[end]) == pool { end += 1 }
            let owner = Int(pool.load(fromByteOffset: 28, as: Int32.self))
            shardTable[owner]._withUnsafeGuaranteedRef {
                $0.freeRun(UnsafeBufferPointer(rebasing: blocks[index..<end]), pool: pool)
            }
            index = end
        }
    }

    /// A run of fresh blocks of one size class: the untaken rest of a pool that ``takeRun(classIndex:shard:)``
    /// handed out whole. A bulk builder takes blocks from its front and gives back what is left.
    struct BlockRun {
        var next: UnsafeMutableRawPointer
        var remaining: Int
    }

    /// Takes a fresh pool of class `classIndex` from shard `shard` with every block counted in use, for
    /// a builder that has the heap to itself (a restore); nil when the memory cap or the OS refuses.
    ///
    /// Why: a restore allocating a million blocks one by one paid a lock round trip, a pool-header
    /// update and a per-class counter per block; a run costs one lock per pool (up to 1,021 blocks).
    /// The builder must hand the unused blocks back with ``returnUnused(_:classIndex:)``.
    func takeRun(classIndex: Int, shard: Int) -> BlockRun? {
        shardTable[shard % shardCount]._withUnsafeGuaranteedRef { $0.takeRun(classIndex: classIndex) }
    }

    /// Gives back the blocks of `run` not taken (its last `remaining` blocks), as if freed.
    func returnUnused(_ run: BlockRun, classIndex: Int) {
        guard run.remaining > 0 else { return }
        let pool = Self.pool(of: run.next)
        let owner = Int(pool.load(fromByteOffset: 28, as: Int32.self))
        shardTable[owner]._withUnsafeGuaranteedRef {
            $0.returnRunTail(pool: pool, unused: run.remaining, classIndex: classIndex)
        }
    }

    /// Returns to the OS the arenas idle for at least `idleFor` nanoseconds (0: every idle arena);
    /// returns how many. Called by the collector: on its thread at each wake-up and right after it
    /// has answered a collection request, or at the end of a collection run inline (no thread).
    ///
    /// Why idle arenas are not unmapped when they empty: a munmap of a touched megabyte costs tens of
    /// microseconds (page freeing, a TLB flush on every core). A collection of a million objects
    /// empties about a hundred arenas, a sixth of its time, and dropping a 1M-node chain by reference
    /// count spent 15% of its time there. Kept for a heartbeat, an emptied arena also serves the next
    /// burst of allocation without a page fault per page (jemalloc's decay, in its simplest form).
    @discardableResult
    public func unmapIdleArenas(idleFor nanoseconds: UInt64 = 0) -> Int {
        var unmapped = 0
        for shard in shards {
            for base in shard.takeIdleArenas(idleFor: nanoseconds) {
                munmap(UnsafeMutableRawPointer(bitPattern: base), ArenaAllocator.arenaSize)
                unmapped += 1
            }
        }
        return unmapped
    }

    /// The allocator's counters, summed over shards.
    public func statistics() -> AllocatorStatistics {
        shards.reduce(AllocatorStatistics()) { $0 + $1.snapshot() }
    }

    @inline(__always)
    static func pool(of block: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(bitPattern: UInt(bitPattern: block) & ~UInt(poolSize - 1))!
    }
}

// MARK: - A shard

extension ArenaAllocator {
    /// One independent allocator: its own lock, arenas, pools and counters.
    final class Shard: @unchecked Sendable {
        let index: Int
        /// The shard's lock, which is also the lock of the tracer's stripe `index` (``TraceStripes``):
        /// the traces of this shard's blocks are kept under it, in the same critical sections.
        private let lock: SpinLock
        /// Kept for tracing, and to keep the lock's memory (which the tracer owns) alive.
        private let tracer: AllocationTracer
        /// Per size class, the head of the doubly linked list of pools that have a free block.
        private let usable: UnsafeMutablePointer<UnsafeMutableRawPointer?>
        /// Blocks in use per size class, in raw memory: the hot path avoids array copy-on-write checks.
        private let blocksInUse: UnsafeMutablePointer<Int>
        /// Arenas by base address.
        private var arenas: [UInt: ArenaRecord] = [:]
        private var stats = AllocatorStatistics()
        private let budget: MemoryBudget
        /// Emptied arenas, still mapped, with when they emptied (CLOCK_MONOTONIC_COARSE ns), oldest first.
        private var idleArenas: [(base: UInt, since: UInt64)] = []

        /// What the shard knows of one arena: its pools that are free, and how many are in use.
        struct ArenaRecord {
            var freePools: [UnsafeMutableRawPointer] = []
            var untouchedPools = ArenaAllocator.poolsPerArena
            var poolsInUse = 0
            var hasFreePool: Bool { !freePools.isEmpty || untouchedPools > 0 }
        }

        init(index: Int, budget: MemoryBudget, tracer: AllocationTracer) {
            self.index = index
            self.budget = budget
            self.tracer = tracer
            lock = tracer.shardLock(index)
            // Cache-line aligned, so no two shards' hot fields share a line.
            usable = UnsafeMutableRawPointer.allocate(byteCount: 8 * SizeClass.count, alignment: 64)
                .bindMemory(to: UnsafeMutableRawPointer?.self, capacity: SizeClass.count)
            usable.initialize(repeating: nil, count: SizeClass.count)
            blocksInUse = UnsafeMutableRawPointer.allocate(byteCount: 8 * SizeClass.count, alignment: 64)
                .bindMemory(to: Int.self, capacity: SizeClass.count)
            blocksInUse.initialize(repeating: 0, count: SizeClass.count)
        }

        deinit {
            usable.deallocate()
            blocksInUse.deallocate()
        }

        func snapshot() -> AllocatorStatistics {
            lock.withLock {
                var copy = stats
                copy.blocksInUse = Array(UnsafeBufferPointer(start: blocksInUse, count: SizeClass.count))
                return copy
            }
        }

        /// Takes out the arenas idle for at least `nanoseconds` (the caller unmaps them).
        func takeIdleArenas(idleFor nanoseconds: UInt64) -> [UInt] {
            lock.withLock {
                guard !idleArenas.isEmpty else { return [] }
                let now = Self.coarseNow()
                let aged = idleArenas.prefix { now &- $0.since >= nanoseconds }.map(\.base)
                idleArenas.removeFirst(aged.count)
                stats.idleArenas -= aged.count
                stats.arenasReleased += aged.count
                return aged
            }
        }

        /// A clock read per emptied arena: the coarse one costs a few nanoseconds, and a heartbeat
        /// (0.25 s) needs no finer grain.
        private static func coarseNow() -> UInt64 {
            var spec = timespec()
            clock_gettime(CLOCK_MONOTONIC_COARSE, &spec)
            return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
        }

        func releaseAll() {
            lock.withLock {
                for idle in idleArenas {
                    munmap(UnsafeMutableRawPointer(bitPattern: idle.base), ArenaAllocator.arenaSize)
                }
                idleArenas = []
                for base in arenas.keys {
                    munmap(UnsafeMutableRawPointer(bitPattern: base), ArenaAllocator.arenaSize)
                    budget.giveBack(ArenaAllocator.arenaSize)
                }
                arenas.removeAll()
            }
        }

        // MARK: Large payloads

        func allocateLarge(size: Int, zeroed: Bool) -> UnsafeMutableRawPointer? {
            guard budget.reserve(size) else { return nil }
            guard let block = zeroed ? calloc(1, size) : malloc(size) else {
                budget.giveBack(size)
                budget.noteOSRefusal()
                return nil
            }
            lock.withLock {
                stats.largeBlocks += 1
                stats.largeBytes += size
            }
            if tracer.isTracing { tracer.recordLarge(block, size: size) }
            return block
        }

        func freeLarge(_ block: UnsafeMutableRawPointer, size: Int) {
            Glibc.free(block)
            budget.giveBack(size)
            lock.withLock {
                stats.largeBlocks -= 1
                stats.largeBytes -= size
            }
        }

        // MARK: Small blocks

        /// A block of class `classIndex` for `size` bytes (the size tracemalloc records).
        @inline(__always)
        func allocateSmall(classIndex: Int, size: Int) -> UnsafeMutableRawPointer? {
            lock.lock()
            guard let block = allocateSmallLocked(classIndex: classIndex) else {
                lock.unlock()
                return nil
            }
            if tracer.isTracing, !tracer.recordSmall(locked: block, size: size, shard: index) {
                lock.unlock()
                tracer.recordSmallAtCut(block, size: size, shard: index)
                return block
            }
            lock.unlock()
            return block
        }

        @inline(__always)
        private func allocateSmallLocked(classIndex: Int) -> UnsafeMutableRawPointer? {
            guard let pool = usable[classIndex] ?? newPool(classIndex: classIndex) else { return nil }
            let block: UnsafeMutableRawPointer
            if let head = pool.load(as: UnsafeMutableRawPointer?.self) {
                // Invariant: a free block's first word links to the next free block of its pool.
                pool.storeBytes(of: head.load(as: UnsafeMutableRawPointer?.self), as: UnsafeMutableRawPointer?.self)
                block = head
            } else {
                let offset = Int(pool.load(fromByteOffset: 36, as: Int32.self))
                block = pool + offset
                pool.storeBytes(
                    of: Int32(offset + SizeClass.blockSize(classIndex)), toByteOffset: 36, as: Int32.self)
            }
            let used = pool.load(fromByteOffset: 32, as: Int32.self) + 1
            pool.storeBytes(of: used, toByteOffset: 32, as: Int32.self)
            if isFull(pool, classIndex: classIndex) {
                unlinkUsable(pool, classIndex: classIndex)
            }
            blocksInUse[classIndex] += 1
            return block
        }

        @inline(__always)
        func freeSmall(_ block: UnsafeMutableRawPointer, pool: UnsafeMutableRawPointer) {
            lock.lock()
            let wantsBudgets = tracer.isTracing && tracer.forgetSmall(locked: block, shard: index)
            freeSmallLocked(block, pool: pool)
            lock.unlock()
            if wantsBudgets { tracer.countBelowPeak() }
        }

        /// Frees a run of blocks of one pool (``freeRunLocked(_:pool:)``) under one lock round, their
        /// traces forgotten in the same critical section.
        func freeRun(_ blocks: UnsafeBufferPointer<UnsafeMutableRawPointer>, pool: UnsafeMutableRawPointer) {
            lock.lock()
            var wantsBudgets = false
            if tracer.isTracing {
                for block in blocks where tracer.forgetSmall(locked: block, shard: index) { wantsBudgets = true }
            }
            freeRunLocked(blocks, pool: pool)
            lock.unlock()
            if wantsBudgets { tracer.countBelowPeak() }
        }

        @inline(__always)
        private func freeSmallLocked(_ block: UnsafeMutableRawPointer, pool: UnsafeMutableRawPointer) {
            let classIndex = Int(pool.load(fromByteOffset: 24, as: Int32.self))
            block.storeBytes(of: pool.load(as: UnsafeMutableRawPointer?.self), as: UnsafeMutableRawPointer?.self)
            pool.storeBytes(of: block, as: UnsafeMutableRawPointer?.self)
            let used = pool.load(fromByteOffset: 32, as: Int32.self) - 1
            pool.storeBytes(of: used, toByteOffset: 32, as: Int32.self)
            blocksInUse[classIndex] -= 1
            if used == 0 {
                if pool.load(fromByteOffset: 40, as: Int32.self) != 0 {
                    unlinkUsable(pool, classIndex: classIndex)
                }
                returnPool(pool)
            } else if pool.load(fromByteOffset: 40, as: Int32.self) == 0 {
                linkUsable(pool, classIndex: classIndex)
            }
        }

        /// Frees blocks of one pool, all in use and each once, under the shard's lock (held by the
        /// caller): ``freeSmallLocked(_:pool:)`` for each, with the pool's bookkeeping done once. A
        /// pool the run empties goes back to its arena without its blocks on its free list (a pool is
        /// formatted anew when carved again), so freeing a whole pool writes none of its blocks.
        func freeRunLocked(_ blocks: UnsafeBufferPointer<UnsafeMutableRawPointer>, pool: UnsafeMutableRawPointer) {
            let classIndex = Int(pool.load(fromByteOffset: 24, as: Int32.self))
            let used = pool.load(fromByteOffset: 32, as: Int32.self) - Int32(blocks.count)
            precondition(used >= 0, "heapd: more blocks freed than a pool has in use (heap corrupted)")
            pool.storeBytes(of: used, toByteOffset: 32, as: Int32.self)
            blocksInUse[classIndex] -= blocks.count
            let usable = pool.load(fromByteOffset: 40, as: Int32.self) != 0
            if used == 0 {
                if usable { unlinkUsable(pool, classIndex: classIndex) }
                returnPool(pool)
                return
            }
            var head = pool.load(as: UnsafeMutableRawPointer?.self)
            for block in blocks {
                block.storeBytes(of: head, as: UnsafeMutableRawPointer?.self)
                head = block
            }
            pool.storeBytes(of: head, as: UnsafeMutableRawPointer?.self)
            if !usable { linkUsable(pool, classIndex: classIndex) }
        }

        // MARK: Runs (bulk building)

        /// A fresh pool of `classIndex`, every block counted in use and the bump offset at its end (so
        /// the pool reads as full, and is in no usable list); its first block and block count.
        func takeRun(classIndex: Int) -> BlockRun? {
            lock.withLock { () -> BlockRun? in
                // Invariant: newPool formats a pool with no free list, nothing used, the bump offset at
                // its first block, and links it usable; a run takes all of it at once.
                guard let pool = newPool(classIndex: classIndex, populate: true) else { return nil }
                unlinkUsable(pool, classIndex: classIndex)
                let blockSize = SizeClass.blockSize(classIndex)
                let blocks = (ArenaAllocator.poolSize - ArenaAllocator.poolHeaderSize) / blockSize
                pool.storeBytes(of: Int32(blocks), toByteOffset: 32, as: Int32.self)
                pool.storeBytes(
                    of: Int32(ArenaAllocator.poolHeaderSize + blocks * blockSize), toByteOffset: 36, as: Int32.self)
                blocksInUse[classIndex] += blocks
                return BlockRun(next: pool + ArenaAllocator.poolHeaderSize, remaining: blocks)
            }
        }

        /// Gives back a run's last `unused` blocks: the bump offset moves back over them (they were never
        /// handed out), and the pool becomes usable again, or goes back to its arena when nothing of it
        /// was taken.
        func returnRunTail(pool: UnsafeMutableRawPointer, unused: Int, classIndex: Int) {
            lock.withLock {
                let bump = Int(pool.load(fromByteOffset: 36, as: Int32.self)) - unused * SizeClass.blockSize(classIndex)
                pool.storeBytes(of: Int32(bump), toByteOffset: 36, as: Int32.self)
                let used = pool.load(fromByteOffset: 32, as: Int32.self) - Int32(unused)
                pool.storeBytes(of: used, toByteOffset: 32, as: Int32.self)
                blocksInUse[classIndex] -= unused
                if used == 0 {
                    returnPool(pool)
                } else {
                    linkUsable(pool, classIndex: classIndex)
                }
            }
        }

        @inline(__always)
        private func isFull(_ pool: UnsafeMutableRawPointer, classIndex: Int) -> Bool {
            pool.load(as: UnsafeMutableRawPointer?.self) == nil
                && Int(pool.load(fromByteOffset: 36, as: Int32.self)) + SizeClass.blockSize(classIndex)
                    > ArenaAllocator.poolSize
        }

        private func linkUsable(_ pool: UnsafeMutableRawPointer, classIndex: Int) {
            let head = usable[classIndex]
            pool.storeBytes(of: head, toByteOffset: 8, as: UnsafeMutableRawPointer?.self)
            pool.storeBytes(of: nil, toByteOffset: 16, as: UnsafeMutableRawPointer?.self)
            head?.storeBytes(of: pool, toByteOffset: 16, as: UnsafeMutableRawPointer?.self)
            usable[classIndex] = pool
            pool.storeBytes(of: 1, toByteOffset: 40, as: Int32.self)
        }

        private func unlinkUsable(_ pool: UnsafeMutableRawPointer, classIndex: Int) {
            let next = pool.load(fromByteOffset: 8, as: UnsafeMutableRawPointer?.self)
            let prev = pool.load(fromByteOffset: 16, as: UnsafeMutableRawPointer?.self)
            if let prev {
                prev.storeBytes(of: next, toByteOffset: 8, as: UnsafeMutableRawPointer?.self)
            } else {
                usable[classIndex] = next
            }
            next?.storeBytes(of: prev, toByteOffset: 16, as: UnsafeMutableRawPointer?.self)
            pool.storeBytes(of: 0, toByteOffset: 40, as: Int32.self)
        }

        /// Carves a pool for `classIndex` from an arena with room (mapping one if none has) and makes
        /// it the head of the class's usable list; nil when no arena has room and none can be mapped.
        ///
        /// `populate`: an arena mapped for it is prefaulted at once (a run fills its pools, and every
        /// page of an arena it maps; one call instead of a fault per page).
        private func newPool(classIndex: Int, populate: Bool = false) -> UnsafeMutableRawPointer? {
            // Prefer the fullest arena with a free pool, so that emptier arenas can drain and be released.
            var chosen: UInt?
            var chosenUse = -1
            for (base, record) in arenas where record.hasFreePool && record.poolsInUse > chosenUse {
                chosen = base
                chosenUse = record.poolsInUse
            }
            guard let base = chosen ?? mapArena(populate: populate) else { return nil }
            var record = arenas[base]!
            let pool: UnsafeMutableRawPointer
            if let reused = record.freePools.popLast() {
                pool = reused
            } else {
                let number = ArenaAllocator.poolsPerArena - record.untouchedPools
                pool = UnsafeMutableRawPointer(bitPattern: base)! + number * ArenaAllocator.poolSize
                record.untouchedPools -= 1
            }
            record.poolsInUse += 1
            arenas[base] = record
            pool.storeBytes(of: nil, as: UnsafeMutableRawPointer?.self)
            pool.storeBytes(of: Int32(classIndex), toByteOffset: 24, as: Int32.self)
            pool.storeBytes(of: Int32(index), toByteOffset: 28, as: Int32.self)
            pool.storeBytes(of: 0, toByteOffset: 32, as: Int32.self)
            pool.storeBytes(of: Int32(ArenaAllocator.poolHeaderSize), toByteOffset: 36, as: Int32.self)
            linkUsable(pool, classIndex: classIndex)
            stats.poolsInUse += 1
            return pool
        }

        /// Gives an empty pool back to its arena; releases the arena to the OS when it is all free and
        /// the shard keeps another arena.
        private func returnPool(_ pool: UnsafeMutableRawPointer) {
            let base = UInt(bitPattern: pool) & ~UInt(ArenaAllocator.arenaSize - 1)
            var record = arenas[base]!
            record.poolsInUse -= 1
            record.freePools.append(pool)
            stats.poolsInUse -= 1
            if record.poolsInUse == 0 && arenas.count > 1 {
                arenas[base] = nil
                // The budget counts arenas the allocator can carve pools from: an idle arena leaves it
                // now, so an allocation right after a collection (before the collector thread's
                // unmaps) is not refused for memory that is already garbage.
                budget.giveBack(ArenaAllocator.arenaSize)
                idleArenas.append((base, Self.coarseNow()))
                stats.arenas -= 1
                stats.idleArenas += 1
            } else {
                arenas[base] = record
            }
        }

        /// Maps a new arena aligned to its size: map twice the size, then unmap the unaligned ends. Nil
        /// when the budget or the OS refuses.
        private func mapArena(populate: Bool = false) -> UInt? {
            let size = ArenaAllocator.arenaSize
            guard budget.reserve(size) else { return nil }
            if let idle = idleArenas.popLast() {
                // The most recently emptied arena serves again before a new one is mapped: its pages
                // are still backed, so no fault per page (nothing to populate either).
                arenas[idle.base] = ArenaRecord()
                stats.arenas += 1
                stats.idleArenas -= 1
                return idle.base
            }
            guard let raw = mmap(nil, 2 * size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                raw != MAP_FAILED
            else {
                budget.giveBack(size)
                budget.noteOSRefusal()
                return nil
            }
            let start = UInt(bitPattern: raw)
            let aligned = (start + UInt(size) - 1) & ~UInt(size - 1)
            if aligned > start { munmap(raw, Int(aligned - start)) }
            let tail = (start + UInt(2 * size)) - (aligned + UInt(size))
            if tail > 0 { munmap(UnsafeMutableRawPointer(bitPattern: aligned + UInt(size)), Int(tail)) }
            // MADV_POPULATE_WRITE (Linux 5.14): refused by older kernels, which then fault page by page.
            if populate { _ = madvise(UnsafeMutableRawPointer(bitPattern: aligned), size, MADV_POPULATE_WRITE) }
            arenas[aligned] = ArenaRecord()
            stats.arenas += 1
            return aligned
        }
    }
}
