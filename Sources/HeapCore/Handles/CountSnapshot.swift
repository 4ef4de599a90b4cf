import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The reference counts as they were at one instant, kept while the heap runs on: what a background
/// heap image (`BGSAVE`, ``BackgroundCapture``) records as each object's count.
///
/// Copy-on-write per slot: nothing is copied when the snapshot starts; the first change to a slot's
/// count after that (an increment, a decrement, a slot claimed for a new object) first saves the count
/// it had. A cell holds 0 while its slot's count is untouched and count + 1 once saved, so the cells can
/// start as `mmap`'s zero pages and starting costs no pass over the table (a million slots would take
/// a millisecond, the whole pause `BGSAVE` may cost).
///
/// Why saving is race-free without a lock: every change to a count first calls
/// ``HandleTable/willChangeCount(_:)``; the first caller to find the cell empty reads the count and
/// installs it with a compare-and-swap, and every change (its own and others') happens only after some
/// caller saw the cell filled, that is after the installed value was read. So the saved count is the
/// one before any change.
@usableFromInline
final class CountSnapshot: @unchecked Sendable {
    /// Whether a snapshot is on; read (relaxed) before every count change. Set and cleared only with
    /// the world stopped, so a mutator sees it change only across the gate, which orders it.
    @usableFromInline let active = Atomic<Bool>(false)
    /// The cells (`mmap`ed, `slots` of them), as an address: 0 when no snapshot is on.
    let cells = Atomic<UInt>(0)
    /// The slots the snapshot covers: those handed out at least once when it started.
    let slots = Atomic<Int>(0)

    init() {}
}

extension HandleTable {
    /// Starts a snapshot of every count (the world is stopped, so none changes meanwhile).
    func beginCountSnapshot() {
        let slots = slotsEverUsed
        let bytes = max(1, slots) * 4
        guard let raw = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
            raw != MAP_FAILED
        else {
            fatalError("heapd: cannot map \(bytes) bytes for a count snapshot (errno \(errno))")
        }
        countSnapshot.cells.store(UInt(bitPattern: raw), ordering: .relaxed)
        countSnapshot.slots.store(slots, ordering: .relaxed)
        countSnapshot.active.store(true, ordering: .relaxed)
    }

    /// Ends the snapshot (the world is stopped, so no count change is between its check and its save);
    /// returns the cells' mapping, for the caller to unmap once the world runs again (unmapping a
    /// megabyte of touched pages is not work for a stop).
    func endCountSnapshot() -> (UnsafeMutableRawPointer, Int)? {
        countSnapshot.active.store(false, ordering: .relaxed)
        let address = countSnapshot.cells.exchange(0, ordering: .relaxed)
        let slots = countSnapshot.slots.exchange(0, ordering: .relaxed)
        return UnsafeMutableRawPointer(bitPattern: address).map { ($0, max(1, slots) * 4) }
    }

    /// Called before every change to a slot's count: saves the count first while a snapshot is on.
    @inlinable @inline(__always)
    func willChangeCount(_ slot: UInt32) {
        if countSnapshot.active.load(ordering: .relaxed) { saveSnapshotCount(slot) }
    }

    @usableFromInline
    func saveSnapshotCount(_ slot: UInt32) { _ = snapshotCount(slot) }

    /// The count `slot` had when the snapshot started (0: the slot was empty, or is beyond the
    /// snapshot); saved now if nobody changed it since. Only while a snapshot is on.
    func snapshotCount(_ slot: UInt32) -> UInt32 {
        guard Int(slot) < countSnapshot.slots.load(ordering: .relaxed),
            let raw = UnsafeMutableRawPointer(bitPattern: countSnapshot.cells.load(ordering: .relaxed))
        else { return 0 }
        let cell = (raw + Int(slot) &* 4).assumingMemoryBound(to: Atomic<UInt32>.self)
        let saved = cell.pointee.load(ordering: .acquiring)
        if saved != 0 { return saved - 1 }
        let now = UInt32(truncatingIfNeeded: word(slot).pointee.load(ordering: .acquiring) & Self.refcountMask)
        let (exchanged, original) = cell.pointee.compareExchange(
            expected: 0, desired: now + 1, ordering: .acquiringAndReleasing)
        return exchanged ? now : original - 1
    }
}
