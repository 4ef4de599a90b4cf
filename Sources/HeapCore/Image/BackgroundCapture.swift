import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A heap image taken while the heap runs (`BGSAVE`): the world stops twice, each time for a moment,
/// once to start a snapshot and once to end it; in between, the capturing thread copies every object
/// of the snapshot while the mutators go on.
///
/// Copy-on-write per object, as Redis's `BGSAVE` gets it from `fork()` per page (`fork()` is not an
/// option here: it copies the page tables in the stop — 10 ms for 200 MB on this machine's VMs — and
/// a multithreaded Swift process may only call async-signal-safe functions in the child):
/// - the counts: the handle table saves a slot's count before its first change (``CountSnapshot``);
/// - the bodies: every mutation of an object (a list's items, a dict's entries, a generator's place, a
///   finalizer flag, and its freeing) first calls ``Heap/willMutate(_:)``, which copies the object's
///   record while it still holds what it held at the start. Each slot has a state, pending → copying →
///   done, changed by compare-and-swap: whoever wins copies (the capturing thread or the mutator), a
///   mutator that finds it copying waits for the copy (one object's), and no mutation starts on a
///   pending object, so a copy never reads a body being changed;
/// - what has no body: new objects are not in the snapshot (their slot's saved count is 0: a slot
///   empty at the start, or freed, and so copied, before it was reused); the globals, the references
///   sessions hold, `gc.garbage`, the weak-reference registry and the generation counts are copied in
///   the first stop (sizes of the namespace, not of the heap).
///
/// What waits: anything that stops the world (collections, freeze, views, `DEBUG VERIFY`) waits for the
/// capture to end (``Heap/withWorldStopped(_:)``), since a collection moves objects between
/// generations and frees them without the mutation hooks. An image taken so differs from `SAVE`'s in
/// one way only: each generation's objects are ordered by slot, not by their place in the generation's
/// list (``HeapImage/RecordOrder/slots``).
///
/// Records are written naming objects by slot; once every object is copied and the world restarted,
/// ``finish()`` drops the sessions' references as `SAVE` does, orders the records and renames the
/// slots to image refs.
public final class BackgroundCapture: @unchecked Sendable {
    private let heap: Heap
    /// The slots the snapshot covers.
    let slots: Int
    /// The per-slot arrays below and the count snapshot's cells, mapped before the first stop.
    private let memory: CaptureMemory
    /// Per slot, one byte: ``pending``, ``copying`` or ``done`` (zero pages: all pending).
    private let states: UnsafeMutablePointer<Atomic<UInt8>>
    /// Per slot, where its record is: 0 none; else the record's offset + 1, with bit 63 set for the
    /// mutators' buffer. Written by whoever copied the slot, before it marks the slot done.
    private let places: UnsafeMutablePointer<UInt64>
    /// The capturing thread's records (only that thread writes them).
    private let own = ImageBytesWriter(capacity: 1 << 20)
    /// The records mutators copied, under ``sideLock``.
    private let side = ImageBytesWriter(capacity: 1 << 16)
    /// A spin lock held for one record (its atomics are visible to the thread sanitizer, which reported
    /// this buffer as raced under `Mutex`).
    private let sideLock = OwnedSpinLock()

    private let globals: [String: ObjectRef]
    private let dropping: [ObjectRef]
    private let garbage: [ObjectRef]
    private let registry: [UInt32: [UInt32]]
    private let counts: [Int]
    /// The classes' shared keys at the first stop, with the instances' attribute order as of then.
    private let classes: [HeapImage.ClassKeys]
    /// How long the second stop held the mutators, in nanoseconds, waiting for them to leave the gate
    /// included (set by ``finish()``).
    public private(set) var endPauseNanoseconds: UInt64 = 0
    /// The work done inside each stop, in nanoseconds (the rest of a stop is the mutators' way out of
    /// the gate): the first stop's, the second's.
    public internal(set) var stopWorkNanoseconds: (start: UInt64, end: UInt64) = (0, 0)

    static let pending: UInt8 = 0
    static let copying: UInt8 = 1
    static let done: UInt8 = 2
    private static let sideBit: UInt64 = 1 << 63

    /// Made in the first stop, over `memory` mapped before it for at least `slots` slots.
    fileprivate init(
        _ heap: Heap, memory: CaptureMemory, slots: Int, globals: [String: ObjectRef], dropping: [ObjectRef]
    ) {
        self.heap = heap
        self.globals = globals
        self.dropping = dropping
        garbage = heap.collector.garbageReferences()
        registry = heap.weakrefs.withLock { $0 }
        counts = heap.generations.countArray
        classes = heap.sharedKeys.snapshot()
        self.slots = slots
        self.memory = memory
        states = memory.states
        places = memory.places
    }

    /// Copies `slot`'s object if it is in the snapshot and not yet copied; returns when it is (a
    /// mutator calls this before changing the object, the capturing thread for each slot in turn).
    @inline(__always)
    func preserve(_ slot: UInt32, byCapturingThread: Bool = false) {
        guard Int(slot) < slots else { return }
        let state = states + Int(slot)
        while true {
            switch state.pointee.load(ordering: .acquiring) {
            case Self.done:
                return
            case Self.copying:
                // Another thread copies this one object; its copy is short.
                sched_yield()
            default:
                guard
                    state.pointee.compareExchange(
                        expected: Self.pending, desired: Self.copying, ordering: .acquiring
                    ).exchanged
                else { continue }
                copy(slot, into: byCapturingThread ? own : nil)
                state.pointee.store(Self.done, ordering: .releasing)
                return
            }
        }
    }

    /// Writes the record of the object in `slot` as the snapshot had it (its body is unchanged: the
    /// caller won the slot while pending). A slot empty at the start has a saved count of 0: no record.
    private func copy(_ slot: UInt32, into writer: ImageBytesWriter?) {
        let count = heap.table.snapshotCount(slot)
        guard count > 0 else { return }
        let object = heap.layout(slot)
        // Slots for now; ``finish()`` renames them once the image's order is known.
        let name = { (slot: UInt32) -> UInt32 in slot == ObjectLayout.noLink ? HeapImage.noRef : slot }
        if let writer {
            places[Int(slot)] = UInt64(writer.count) + 1
            writer.writeRecord(object, count: count, ref: name)
        } else {
            sideLock.withLock {
                places[Int(slot)] = (UInt64(side.count) + 1) | Self.sideBit
                side.writeRecord(object, count: count, ref: name)
            }
        }
    }

    /// Copies every object not copied yet, ends the snapshot (a short stop) and builds the image.
    /// On the capturing thread, outside the gate.
    public func finish() -> HeapImage {
        let first = Int(ObjectRef.immortalCount)
        for slot in first..<slots { preserve(UInt32(slot), byCapturingThread: true) }
        let stopping = monotonicNanoseconds()
        stopWorkNanoseconds.end = heap.endBackgroundCapture()
        endPauseNanoseconds = monotonicNanoseconds() - stopping
        return assemble()
    }

    /// The image from the copied records (every slot is done, and no mutator writes any more).
    private func assemble() -> HeapImage {
        let first = Int(ObjectRef.immortalCount)
        let ownBytes = own.bytes
        let sideBytes = side.bytes
        return ownBytes.withUnsafeBytes { ownRecords in
            sideBytes.withUnsafeBytes { sideRecords in
                /// The buffer and offset of a slot's record.
                func record(_ slot: Int) -> (UnsafeRawBufferPointer, Int)? {
                    let place = places[slot]
                    guard place != 0 else { return nil }
                    let offset = Int(place & ~Self.sideBit) - 1
                    return (place & Self.sideBit != 0 ? sideRecords : ownRecords, offset)
                }
                // The counts, less the sessions' references and what only they held (as `SAVE`).
                var counts = [UInt32](repeating: 0, count: slots)
                var kept = [Bool](repeating: false, count: slots)
                for slot in first..<slots {
                    guard let (bytes, offset) = record(slot) else { continue }
                    counts[slot] = UInt32(
                        littleEndian: bytes.loadUnaligned(
                            fromByteOffset: offset + RecordReferences.countOffset, as: UInt32.self))
                    kept[slot] = true
                }
                var dying: [Int] = []
                func drop(_ slot: Int) {
                    guard slot >= first, slot < slots, kept[slot] else { return }
                    counts[slot] -= 1
                    if counts[slot] == 0 {
                        kept[slot] = false
                        dying.append(slot)
                    }
                }
                for ref in dropping { drop(Int(ref.slot)) }
                while let slot = dying.popLast() {
                    let (bytes, offset) = record(slot)!
                    _ = RecordReferences.forEach(in: bytes, at: offset) { field in
                        drop(Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: field, as: UInt32.self))))
                    }
                }
                // The order (``HeapImage/RecordOrder/slots``): tracked by generation, then the rest.
                var buckets = [[Int]](repeating: [], count: 5)
                for slot in first..<slots where kept[slot] {
                    let (bytes, offset) = record(slot)!
                    let flags = bytes[offset + RecordReferences.flagsOffset]
                    let tracked = flags & ObjectLayout.trackedFlag != 0
                    buckets[tracked ? Int((flags & ObjectLayout.generationMask) >> ObjectLayout.generationShift) : 4]
                        .append(slot)
                }
                var index = [UInt32](repeating: HeapImage.noRef, count: slots)
                var objectCount = 0
                for bucket in buckets {
                    for slot in bucket {
                        index[slot] = HeapImage.firstObjectRef + UInt32(objectCount)
                        objectCount += 1
                    }
                }
                func ref(_ slot: UInt32) -> UInt32 {
                    if slot < ObjectRef.immortalCount || slot == HeapImage.noRef { return slot }
                    return Int(slot) < slots ? index[Int(slot)] : HeapImage.noRef
                }
                // The records in order (one copy each), then their final counts and refs, patched in
                // place in one pass over the result.
                var records: [UInt8] = []
                records.reserveCapacity(ownRecords.count + sideRecords.count)
                for bucket in buckets {
                    for slot in bucket {
                        let (bytes, offset) = record(slot)!
                        let end = RecordReferences.forEach(in: bytes, at: offset) { _ in }
                        records.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<end]))
                    }
                }
                records.withUnsafeMutableBytes { out in
                    var offset = 0
                    for bucket in buckets {
                        for slot in bucket {
                            out.storeBytes(
                                of: counts[slot].littleEndian, toByteOffset: offset + RecordReferences.countOffset,
                                as: UInt32.self)
                            offset = RecordReferences.forEach(in: UnsafeRawBufferPointer(out), at: offset) { field in
                                let named = UInt32(
                                    littleEndian: out.loadUnaligned(fromByteOffset: field, as: UInt32.self))
                                out.storeBytes(of: ref(named).littleEndian, toByteOffset: field, as: UInt32.self)
                            }
                        }
                    }
                }
                return HeapImage.assemble(
                    objectCount: objectCount, records: records, registry: registry, globals: globals,
                    garbage: garbage, counts: self.counts, classes: classes, ref: ref)
            }
        }
    }
}

extension Heap {
    /// Starts a background capture (`BGSAVE`) in a stop of its own: `roots` gives, with the world
    /// stopped, the globals and the references held outside the heap that do not survive a restart
    /// (as ``StoppedHeap/captureImage(globals:dropping:order:)`` takes them). Returns nil while another
    /// capture runs. Call ``BackgroundCapture/finish()`` on the capturing thread to complete it.
    public func beginBackgroundCapture(
        _ roots: (borrowing StoppedHeap) -> (globals: [String: ObjectRef], dropping: [ObjectRef])
    ) -> BackgroundCapture? {
        let claimed = captureRunning.withLock { running -> Bool in
            guard !running else { return false }
            running = true
            return true
        }
        guard claimed else { return nil }
        // The arrays are mapped before the stop (system calls are not work for it), with room for the
        // slots the heap may take until the stop begins; mapped in the stop only if it outgrew that.
        let room = table.slotsEverUsed + 65_536
        let premapped = CaptureMemory(slots: room)
        var capture: BackgroundCapture?
        var work: UInt64 = 0
        withWorldStoppedDuringCapture { stopped in
            let started = monotonicNanoseconds()
            let (globals, dropping) = roots(stopped)
            let slots = table.slotsEverUsed
            let memory = slots <= room ? premapped : CaptureMemory(slots: slots)
            capture = BackgroundCapture(self, memory: memory, slots: slots, globals: globals, dropping: dropping)
            table.beginCountSnapshot(cells: memory.cells, slots: slots)
            activeCapture = capture
            work = monotonicNanoseconds() - started
        }
        capture?.stopWorkNanoseconds.start = work
        return capture
    }

    /// Ends the snapshot in a second short stop and lets stops that waited for it go on.
    fileprivate func endBackgroundCapture() -> UInt64 {
        var work: UInt64 = 0
        withWorldStoppedDuringCapture { _ in
            let started = monotonicNanoseconds()
            table.endCountSnapshot()
            activeCapture = nil
            work = monotonicNanoseconds() - started
        }
        captureRunning.withLockAndBroadcast { $0 = false }
        return work
    }

    /// Called before any change to an object's body or flags: while a background capture runs, copies
    /// the object first if the capture still needs it as it was.
    @inline(__always)
    func willMutate(_ slot: UInt32) {
        if table.countSnapshot.active.load(ordering: .relaxed) { activeCapture?.preserve(slot) }
    }
}

/// A background capture's per-slot memory in one `MAP_NORESERVE` mapping of zero pages: the records'
/// places (8 bytes a slot), the count snapshot's cells (4) and the slots' states (1). Pages are backed
/// only once written, so room for slots that never come costs nothing.
final class CaptureMemory: @unchecked Sendable {
    let slots: Int
    private let base: UnsafeMutableRawPointer
    private let bytes: Int

    init(slots: Int) {
        self.slots = max(1, slots)
        bytes = self.slots * 13
        guard let raw = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
            raw != MAP_FAILED
        else {
            fatalError("heapd: cannot map \(bytes) bytes for a background capture (errno \(errno))")
        }
        base = raw
    }

    deinit { munmap(base, bytes) }

    var places: UnsafeMutablePointer<UInt64> { base.bindMemory(to: UInt64.self, capacity: slots) }
    var cells: UnsafeMutableRawPointer { base + slots * 8 }
    var states: UnsafeMutablePointer<Atomic<UInt8>> {
        (base + slots * 12).assumingMemoryBound(to: Atomic<UInt8>.self)
    }
}
