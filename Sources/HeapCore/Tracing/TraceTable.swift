/// An open-addressing hash table from an address to a size and an interned traceback, used only under
/// the lock of a stripe of ``AllocationTracer``: the traces of large payloads, and the directory of
/// ``PoolTraces`` (which stores a side array's address as the "size").
///
/// Why not a `Dictionary`: its SipHash and copy-on-write checks cost about 25 ns per insertion or
/// removal, most of what tracing cost per block when one dictionary held every trace. Here:
///
/// - linear probing over a power-of-two array of entries, at most half full, so an insertion or a
///   lookup touches one or two cache lines;
/// - Fibonacci hashing of the address (multiply by 2⁶⁴/φ, keep the top bits): block addresses are
///   16-byte aligned and dense, and the multiplication spreads the bits that differ;
/// - removal by backward shift instead of tombstones, so lookups do not slow down as blocks come
///   and go (a tracer sees every free).
///
/// The entry array is raw memory owned by the table (a struct, so the stripe holds it inline with no
/// reference counting on the hot path): ``removeAll()`` gives it back, and the owner must call it
/// before dropping the table.
///
///     entries: [ address 8 | size 8 | traceback 4 | pad 4 ] × capacity     address 0 = empty slot
struct TraceTable {
    struct Entry {
        /// The block's address; 0 marks an empty slot (no block lives at address 0).
        var address: UInt
        var size: Int
        /// Index of the interned traceback in the tracer's run.
        var traceback: UInt32
    }

    private var entries: UnsafeMutablePointer<Entry>?
    /// Capacity − 1 (capacity is a power of two), 0 while nothing is allocated.
    private var mask = 0
    /// 64 − log₂(capacity): the right shift that keeps the hash's top bits.
    private var shift: UInt64 = 64
    /// Traces held.
    private(set) var count = 0

    static let initialCapacity = 64

    /// Bytes of the entry array (for `tracemalloc.get_tracemalloc_memory()`).
    var allocatedBytes: Int { entries == nil ? 0 : (mask + 1) * MemoryLayout<Entry>.stride }

    @inline(__always)
    private func home(_ address: UInt) -> Int {
        Int(truncatingIfNeeded: (UInt64(address) &* 0x9E37_79B9_7F4A_7C15) &>> shift)
    }

    /// Records `address`; returns the size of the trace it replaced, if there was one.
    @inline(__always)
    mutating func insert(_ address: UInt, size: Int, traceback: UInt32) -> Int? {
        if (count &+ 1) &* 2 > mask &+ 1 { grow() }
        let entries = self.entries!
        var slot = home(address)
        // Invariant: every slot from the home up to `slot` holds another address.
        while true {
            let found = entries[slot].address
            if found == 0 {
                entries[slot] = Entry(address: address, size: size, traceback: traceback)
                count &+= 1
                return nil
            }
            if found == address {
                let old = entries[slot].size
                entries[slot].size = size
                entries[slot].traceback = traceback
                return old
            }
            slot = (slot &+ 1) & mask
        }
    }

    /// The trace of `address`, if any.
    func lookup(_ address: UInt) -> Entry? {
        guard let entries else { return nil }
        var slot = home(address)
        while true {
            let found = entries[slot].address
            if found == address { return entries[slot] }
            if found == 0 { return nil }
            slot = (slot &+ 1) & mask
        }
    }

    /// Forgets `address`; returns its size, or nil when it was not traced.
    @inline(__always)
    mutating func remove(_ address: UInt) -> Int? {
        guard let entries else { return nil }
        var hole = home(address)
        while true {
            let found = entries[hole].address
            if found == address { break }
            if found == 0 { return nil }
            hole = (hole &+ 1) & mask
        }
        let size = entries[hole].size
        count &-= 1
        // Backward shift: pull each later entry of the cluster into the hole when the hole lies
        // between its home and where it sits, so that no lookup ever stops early at the hole.
        var next = hole
        while true {
            next = (next &+ 1) & mask
            let moving = entries[next].address
            if moving == 0 { break }
            // Its distance from home is at least the hole's distance to it: its home is at or before
            // the hole (cyclically), so it may move there.
            if (next &- home(moving)) & mask >= (next &- hole) & mask {
                entries[hole] = entries[next]
                hole = next
            }
        }
        entries[hole].address = 0
        return size
    }

    /// Calls `body` with every trace.
    func forEach(_ body: (Entry) -> Void) {
        guard let entries else { return }
        for slot in 0...mask where entries[slot].address != 0 { body(entries[slot]) }
    }

    /// Forgets every trace and gives the entry array back.
    mutating func removeAll() {
        entries?.deallocate()
        entries = nil
        mask = 0
        shift = 64
        count = 0
    }

    /// Doubles the capacity (or makes the first array) and reinserts every trace.
    private mutating func grow() {
        let oldEntries = entries
        let oldCapacity = oldEntries == nil ? 0 : mask + 1
        let capacity = max(Self.initialCapacity, oldCapacity * 2)
        let fresh = UnsafeMutablePointer<Entry>.allocate(capacity: capacity)
        fresh.initialize(repeating: Entry(address: 0, size: 0, traceback: 0), count: capacity)
        entries = fresh
        mask = capacity - 1
        shift = UInt64(64 - capacity.trailingZeroBitCount)
        guard let oldEntries else { return }
        for index in 0..<oldCapacity where oldEntries[index].address != 0 {
            var slot = home(oldEntries[index].address)
            while fresh[slot].address != 0 { slot = (slot &+ 1) & mask }
            fresh[slot] = oldEntries[index]
        }
        oldEntries.deallocate()
    }
}
