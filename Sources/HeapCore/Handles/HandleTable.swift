import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The handle table: one 16-byte entry per object slot, holding the object's reference count, the
/// slot's generation and the object's address.
///
///     entry i (16 bytes, at base + 16 * i)
///     +--------------------------------------------+----------------------------+
///     | Atomic<UInt64>: generation << 32 | refcount | object address (UInt)      |
///     +--------------------------------------------+----------------------------+
///
/// Why the count lives here and not in the object: the count and the generation share one atomic word,
/// so "take a reference to the object named by this id, if it is still alive" is a single
/// compare-and-swap that can never touch freed memory (the table itself is never freed or moved), while
/// increments and decrements by holders of a reference stay one lock-free `fetch_add`/`fetch_sub`.
///
/// The table is one `mmap` reservation (`MAP_NORESERVE`) of `capacity` entries made at start: pages are
/// backed only once touched, and entries never move. Slots `0..<highWater` have been handed out at least
/// once; freed slots are kept in per-shard sets (``FreeSlots``) and reused lowest first.
@usableFromInline
final class HandleTable: @unchecked Sendable {
    @usableFromInline let base: UnsafeMutableRawPointer
    let capacity: Int
    private let highWater = Atomic<Int>(0)
    private let freeLists: [FreeSlots]
    /// The sets again, unretained, so that claiming and releasing pay no reference counting to reach
    /// one (measured: `swift_retain`/`swift_release` were a third of `claim`'s samples).
    private let freeListTable: UnsafeMutablePointer<Unmanaged<FreeSlots>>
    private let freeListCount: Int
    /// The counts kept for a background heap image while one is taken (``CountSnapshot``).
    @usableFromInline let countSnapshot = CountSnapshot()

    @usableFromInline static let refcountMask: UInt64 = 0xFFFF_FFFF
    /// Fresh slots a shard takes at once (64 entries: 1 KiB of table, whole cache lines).
    static let chunk = 64

    init(capacity: Int, shardCount: Int) {
        self.capacity = capacity
        let bytes = capacity * 16
        guard
            let raw = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
            raw != MAP_FAILED
        else {
            fatalError("heapd: cannot reserve a handle table of \(capacity) entries (errno \(errno))")
        }
        base = raw
        freeLists = (0..<max(1, shardCount)).map { _ in FreeSlots(capacity: capacity) }
        freeListCount = freeLists.count
        // A cache line of its own: read on every claim and release by every thread, it must not share a
        // line with anything a thread writes (a malloc neighbour such as a set's count).
        freeListTable = UnsafeMutableRawPointer.allocate(
            byteCount: max(64, freeListCount * MemoryLayout<Unmanaged<FreeSlots>>.stride), alignment: 64
        ).bindMemory(to: Unmanaged<FreeSlots>.self, capacity: freeListCount)
        for (index, list) in freeLists.enumerated() { (freeListTable + index).initialize(to: .passUnretained(list)) }
    }

    deinit {
        freeListTable.deallocate()
        munmap(base, capacity * 16)
    }

    /// Slots handed out at least once.
    var slotsEverUsed: Int { min(highWater.load(ordering: .acquiring), capacity) }

    @inlinable @inline(__always)
    func word(_ slot: UInt32) -> UnsafeMutablePointer<Atomic<UInt64>> {
        (base + Int(slot) &* 16).assumingMemoryBound(to: Atomic<UInt64>.self)
    }

    /// The object's address; valid only while the caller holds a reference or has the heap to itself.
    @inline(__always)
    func object(_ slot: UInt32) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(bitPattern: (base + Int(slot) &* 16 + 8).load(as: UInt.self))!
    }

    /// The address of `slot`'s entry, for a prefetch hint (never read through it here).
    @inline(__always)
    func entryAddress(_ slot: UInt32) -> UnsafeRawPointer {
        UnsafeRawPointer(base + Int(slot) &* 16)
    }

    /// The object's address or nil for an empty slot; for the verifier and the collector, which run
    /// with the mutators stopped.
    @inline(__always)
    func objectIfAny(_ slot: UInt32) -> UnsafeMutableRawPointer? {
        UnsafeMutableRawPointer(bitPattern: (base + Int(slot) &* 16 + 8).load(as: UInt.self))
    }

    /// Takes a slot for a new object at `address` with a reference count of 1 and returns it with the
    /// generation it now has, or nil when the table is full.
    func claim(address: UnsafeMutableRawPointer, shard: Int) -> (slot: UInt32, generation: UInt32)? {
        freeListTable[shard % freeListCount]._withUnsafeGuaranteedRef { claim(address: address, from: $0) }
    }

    private func claim(address: UnsafeMutableRawPointer, from list: FreeSlots) -> (slot: UInt32, generation: UInt32)? {
        // The hot path takes one lock: a slot this shard freed. Only an empty list looks further.
        var popped = list.lock.withLock { list.removeLowest() }
        if popped == nil {
            refill(list)
            popped = list.lock.withLock { list.removeLowest() }
        }
        let slot =
            popped
            ?? list.lock.withLock { () -> UInt32? in
                if let slot = list.removeLowest() { return slot }
                // Fresh slots come in chunks per shard, so that two threads' entries never share a cache
                // line (false sharing would make every refcount write of one slow down the other).
                let first = highWater.add(Self.chunk, ordering: .relaxed).oldValue
                let end = min(first + Self.chunk, capacity)
                guard first < end else { return nil }
                for fresh in first + 1..<end { list.insert(UInt32(fresh)) }
                return UInt32(first)
            }
        guard let claimed = slot else { return nil }
        // A slot empty at a snapshot's start must read as empty there (count 0), not as the new object.
        willChangeCount(claimed)
        (base + Int(claimed) * 16 + 8).storeBytes(of: UInt(bitPattern: address), as: UInt.self)
        let generation = UInt32(truncatingIfNeeded: word(claimed).pointee.load(ordering: .relaxed) >> 32)
        // Publishing: the releasing store makes the address visible to whoever acquires a reference.
        word(claimed).pointee.store(UInt64(generation) << 32 | 1, ordering: .releasing)
        return (claimed, generation)
    }

    /// Moves up to ``refillCount`` freed slots from other shards' sets into `list`, before `list` takes
    /// fresh slots from the high-water mark.
    ///
    /// Why: a slot goes back to the set of the shard that *frees* it, and the collector frees its
    /// garbage on its own shards. A shard that only allocates would otherwise take fresh slots forever
    /// while another hoards freed ones: in a 30-minute soak the table grew to 280,000 slots for 1,500
    /// live objects, and everything that scans the table (`DEBUG VERIFY`, the listings) slowed with it.
    /// One lock at a time, never two, so no lock order can deadlock.
    private func refill(_ list: FreeSlots) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: Self.refillCount) { moved in
            var count = 0
            for other in freeLists where other !== list {
                other.lock.withLock {
                    while count < moved.count, let slot = other.removeLowest() {
                        moved[count] = slot
                        count += 1
                    }
                }
                if count == moved.count { break }
            }
            guard count > 0 else { return }
            list.lock.withLock { for slot in moved[..<count] { list.insert(slot) } }
        }
    }

    /// Slots one refill moves: 16 chunks. A builder allocating after a collection freed a million
    /// objects on other shards refilled 64 at a time, with a lock round trip on two sets and an array
    /// each time (2% of building a 1M graph); the lowest slots still come first.
    static let refillCount = 16 * chunk

    /// Takes `count` slots never handed out, as one range, for a builder that has the heap to itself
    /// (a restore); returns the first, or nil when the table lacks room. Their entries are empty (a
    /// never-used slot's generation is 0) until ``fill(_:address:refcount:)`` writes them.
    func claimFreshRange(count: Int) -> UInt32? {
        let first = highWater.load(ordering: .relaxed)
        guard count >= 0, first + count <= capacity else { return nil }
        highWater.store(first + count, ordering: .releasing)
        // The range's pages at once (MADV_POPULATE_WRITE, Linux 5.14; older kernels fault page by page).
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (first * 16) & ~(pageSize - 1)
        _ = madvise(base + start, (first + count) * 16 - start, MADV_POPULATE_WRITE)
        return UInt32(first)
    }

    /// Writes a slot of a ``claimFreshRange(count:)`` range: the object's address and its count (the
    /// generation stays 0). The caller has the heap to itself, so no store needs to publish anything.
    @inline(__always)
    func fill(_ slot: UInt32, address: UnsafeMutableRawPointer, refcount: UInt32) {
        (base + Int(slot) &* 16 + 8).storeBytes(of: UInt(bitPattern: address), as: UInt.self)
        word(slot).pointee.store(UInt64(refcount), ordering: .relaxed)
    }

    /// Seeds an immortal slot (None, True, False) with a count no decrement can exhaust.
    func claimImmortal(_ slot: UInt32, address: UnsafeMutableRawPointer) {
        precondition(highWater.load(ordering: .relaxed) == Int(slot), "immortal slots are claimed first, in order")
        highWater.store(Int(slot) + 1, ordering: .relaxed)
        (base + Int(slot) * 16 + 8).storeBytes(of: UInt(bitPattern: address), as: UInt.self)
        word(slot).pointee.store(1 << 30, ordering: .releasing)
    }

    /// Gives back the slot of an object whose count reached zero and whose memory is already freed:
    /// the generation grows, so every outstanding id of the old object stops resolving. A slot whose
    /// generation would wrap is retired instead of reused, so an id is never ambiguous.
    func release(_ slot: UInt32, shard: Int) {
        guard retire(slot) else { return }
        freeListTable[shard % freeListCount]._withUnsafeGuaranteedRef { list in
            list.lock.withLock { list.insert(slot) }
        }
    }

    /// Empties a slot and grows its generation; false when the generation is exhausted and the slot is
    /// retired for good (never to join a free-slot set again).
    @inline(__always)
    private func retire(_ slot: UInt32) -> Bool {
        (base + Int(slot) * 16 + 8).storeBytes(of: 0, as: UInt.self)
        let generation = UInt32(truncatingIfNeeded: word(slot).pointee.load(ordering: .relaxed) >> 32)
        guard generation < UInt32.max else { return false }
        word(slot).pointee.store(UInt64(generation + 1) << 32, ordering: .releasing)
        return true
    }

    /// Sets the count of a collection's garbage to zero, its generation and address kept, before the
    /// world restarts with the object not yet freed: no id resolves to it any more (``acquire(_:)``
    /// takes only a nonzero count), and ``release(_:shard:)`` or ``releaseBatch(_:shard:)`` empties it
    /// later as any dead slot. The world is stopped: the stop's end publishes the store.
    func condemn(_ slot: UInt32) {
        let entry = word(slot)
        entry.pointee.store(entry.pointee.load(ordering: .relaxed) & ~Self.refcountMask, ordering: .relaxed)
    }

    /// Drops a reference between two objects of a collection's garbage, with the world stopped: no
    /// other thread touches the count, so a load and a store do (no locked instruction), and no
    /// background capture runs (a collection waits for it). Returns whether the count reached zero.
    func dropWhileStopped(_ slot: UInt32) -> Bool {
        let entry = word(slot)
        let value = entry.pointee.load(ordering: .relaxed)
        precondition(value & Self.refcountMask != 0, "heapd: reference count of slot \(slot) went below zero")
        entry.pointee.store(value &- 1, ordering: .relaxed)
        return value & Self.refcountMask == 1
    }

    /// ``release(_:shard:)`` for many slots: each slot's generation grows at once, and the reusable
    /// ones join the shard's free list under one lock instead of one each.
    func releaseBatch(_ slots: UnsafeBufferPointer<UInt32>, shard: Int) {
        freeListTable[shard % freeListCount]._withUnsafeGuaranteedRef { list in
            list.lock.withLock {
                for slot in slots where retire(slot) { list.insert(slot) }
            }
        }
    }

    /// Resolves an id to a new counted reference, or nil when the id names no live object.
    ///
    /// Safe against any id, however stale or made up: it reads only the table's atomic word, and takes
    /// the reference only while that word still carries the id's generation and a nonzero count.
    func acquire(_ id: ObjectID) -> UInt32? {
        let slot = id.slot
        guard Int(slot) < slotsEverUsed else { return nil }
        let entry = word(slot)
        var current = entry.pointee.load(ordering: .acquiring)
        while true {
            guard UInt32(truncatingIfNeeded: current >> 32) == id.generation, current & Self.refcountMask != 0
            else { return nil }
            willChangeCount(slot)
            let (exchanged, original) = entry.pointee.compareExchange(
                expected: current, desired: current &+ 1, ordering: .acquiringAndReleasing)
            if exchanged { return slot }
            current = original
        }
    }

    /// The id of a live slot.
    @inline(__always)
    func id(of slot: UInt32) -> ObjectID {
        ObjectID(slot: slot, generation: UInt32(truncatingIfNeeded: word(slot).pointee.load(ordering: .relaxed) >> 32))
    }

    /// The raw reference count of a slot.
    @inline(__always)
    func refcount(_ slot: UInt32) -> Int {
        Int(word(slot).pointee.load(ordering: .relaxed) & Self.refcountMask)
    }
}
