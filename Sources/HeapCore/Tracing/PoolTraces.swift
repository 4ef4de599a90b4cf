/// The traces of small blocks in one stripe of ``AllocationTracer``, by pool: no hashing per block.
///
/// A small block lives in a 16 KiB pool of the arena allocator, at a 16-byte aligned offset. Each pool
/// with traced blocks gets a side array of one word per 16-byte granule of the pool, and a block's
/// trace is the word of its first granule. Finding the array is one ``TraceTable`` lookup by pool
/// address, skipped when the pool is the one used last (consecutive allocations mostly come from the
/// same pool). Used only under the stripe's lock.
///
///     side array (8 KiB, one per pool with traces):
///       word 0          traces in this pool (granules 0–2 are the pool's header: never a block)
///       word g (g ≥ 3)  0 = no trace, else traceback << 32 | (size + 1)
///
/// An array whose pool has no trace left is kept zeroed on a short spare list, so a pool that
/// empties and fills again costs no allocation and no clearing.
///
/// What it costs: 8 KiB per pool with a traced block, i.e. at most half the memory of the traced
/// pools (a hash entry per trace costs 48–64 bytes, more than a 48-byte block).
struct PoolTraces {
    static let poolSize = 16 << 10
    static let words = poolSize / 16
    static let maxSpares = 4

    /// Pool address → side array address (stored in the table's `size` field).
    private var directory = TraceTable()
    private var lastPool: UInt = 0
    private var lastSlots: UnsafeMutablePointer<UInt64>?
    private var spares: [UnsafeMutablePointer<UInt64>] = []
    /// Traces held.
    private(set) var count = 0

    /// Bytes of the side arrays and the directory.
    var allocatedBytes: Int { (directory.count + spares.count) * Self.words * 8 + directory.allocatedBytes }

    @inline(__always)
    private static func split(_ address: UInt) -> (pool: UInt, granule: Int) {
        (address & ~UInt(poolSize - 1), Int(truncatingIfNeeded: (address & UInt(poolSize - 1)) &>> 4))
    }

    @inline(__always)
    private mutating func slots(of pool: UInt) -> UnsafeMutablePointer<UInt64>? {
        if pool == lastPool { return lastSlots }
        guard let entry = directory.lookup(pool) else { return nil }
        let slots = UnsafeMutablePointer<UInt64>(bitPattern: entry.size)
        lastPool = pool
        lastSlots = slots
        return slots
    }

    /// Records the block at `address`; returns the size of the trace it replaced, if there was one.
    @inline(__always)
    mutating func insert(_ address: UInt, size: Int, traceback: UInt32) -> Int? {
        let (pool, granule) = Self.split(address)
        let slots = self.slots(of: pool) ?? makeSlots(for: pool)
        let old = slots[granule]
        slots[granule] = UInt64(traceback) &<< 32 | UInt64(truncatingIfNeeded: size &+ 1)
        if old != 0 { return Int(truncatingIfNeeded: old & 0xFFFF_FFFF) &- 1 }
        slots[0] &+= 1
        count &+= 1
        return nil
    }

    /// Forgets the block at `address`; returns its size, or nil when it was not traced.
    @inline(__always)
    mutating func remove(_ address: UInt) -> Int? {
        let (pool, granule) = Self.split(address)
        guard let slots = self.slots(of: pool) else { return nil }
        let old = slots[granule]
        guard old != 0 else { return nil }
        slots[granule] = 0
        slots[0] &-= 1
        count &-= 1
        if slots[0] == 0 { retire(pool, slots) }
        return Int(truncatingIfNeeded: old & 0xFFFF_FFFF) &- 1
    }

    /// The trace of the block at `address`, if any.
    mutating func lookup(_ address: UInt) -> TraceTable.Entry? {
        let (pool, granule) = Self.split(address)
        guard granule >= 3, let slots = self.slots(of: pool), slots[granule] != 0 else { return nil }
        return Self.entry(pool, granule, slots[granule])
    }

    /// Calls `body` with every trace.
    func forEach(_ body: (TraceTable.Entry) -> Void) {
        directory.forEach { directoryEntry in
            let slots = UnsafeMutablePointer<UInt64>(bitPattern: directoryEntry.size)!
            for granule in 3..<Self.words where slots[granule] != 0 {
                body(Self.entry(directoryEntry.address, granule, slots[granule]))
            }
        }
    }

    /// Forgets every trace and gives every array back.
    mutating func removeAll() {
        directory.forEach { UnsafeMutablePointer<UInt64>(bitPattern: $0.size)!.deallocate() }
        directory.removeAll()
        for spare in spares { spare.deallocate() }
        spares = []
        lastPool = 0
        lastSlots = nil
        count = 0
    }

    private static func entry(_ pool: UInt, _ granule: Int, _ word: UInt64) -> TraceTable.Entry {
        TraceTable.Entry(
            address: pool + UInt(granule * 16), size: Int(truncatingIfNeeded: word & 0xFFFF_FFFF) - 1,
            traceback: UInt32(truncatingIfNeeded: word >> 32))
    }

    /// A zeroed side array for `pool`, entered in the directory and made the last used.
    private mutating func makeSlots(for pool: UInt) -> UnsafeMutablePointer<UInt64> {
        let slots: UnsafeMutablePointer<UInt64>
        if let spare = spares.popLast() {
            slots = spare
        } else {
            slots = .allocate(capacity: Self.words)
            slots.initialize(repeating: 0, count: Self.words)
        }
        _ = directory.insert(pool, size: Int(bitPattern: UInt(bitPattern: slots)), traceback: 0)
        lastPool = pool
        lastSlots = slots
        return slots
    }

    /// The pool's last trace is gone: its array (all zero again) becomes a spare, or is freed.
    private mutating func retire(_ pool: UInt, _ slots: UnsafeMutablePointer<UInt64>) {
        _ = directory.remove(pool)
        if lastPool == pool {
            lastPool = 0
            lastSlots = nil
        }
        if spares.count < Self.maxSpares {
            spares.append(slots)
        } else {
            slots.deallocate()
        }
    }
}
