import Synchronization

/// The reference counts as they were at one instant, kept while the heap runs on: what a background
/// heap image (`BGSAVE`, ``BackgroundCapture``) records as each object's count.
///
/// Copy-on-write per slot: nothing is copied when the snapshot starts; the first change to a slot's
/// count after that (an increment, a decrement, a slot claimed for a new object) first saves the count
/// it had. A cell holds 0 while its slot's count is untouched and count + 1 once saved, so the cells can
/// start as `mmap`'s zero pages (mapped before the stop, by ``BackgroundCapture``) and starting costs no
/// pass over the table (a million slots would take a millisecond, the whole pause `BGSAVE` may cost).
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
    /// The cells (`slots` of them), as an address: 0 when no snapshot is on.
    let cells = Atomic<UInt>(0)
    /// The slots the snapshot covers: those handed out at least once when it started.
    let slots = Atomic<Int>(0)

    init() {}
}

extension HandleTable {
    /// Starts a snapshot of every count of the first `slots` slots into `cells` (zeroed memory of 4
    /// bytes per slot, which the caller owns until after ``endCountSnapshot()``); the world is stopped,
    /// so no count changes meanwhile.
    func beginCountSnapshot(cells: UnsafeMutableRawPointer, slots: Int) {
        countSnapshot.cells.store(UInt(bitPattern: cells), ordering: .relaxed)
        countSnapshot.slots.store(slots, ordering: .relaxed)
        countSnapshot.active.store(true, ordering: .relaxed)
    }

    /// Ends the snapshot (the world is stopped, so no count change is between its check and its save).
    func endCountSnapshot() {
        countSnapshot.active.store(false, ordering: .relaxed)
        countSnapshot.cells.store(0, ordering: .relaxed)
        countSnapshot.slots.store(0, ordering: .relaxed)
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
