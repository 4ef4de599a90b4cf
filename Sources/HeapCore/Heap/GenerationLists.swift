/// The collector's generation lists: every tracked container is linked into exactly one of
/// generation 0, 1, 2 or the permanent generation (objects moved there by `freeze`).
///
/// Lists are doubly linked through the `gc prev`/`gc next` slots of the container header (see
/// ``ObjectLayout``); a head and tail slot per list live here. Mutators link new containers into
/// generation 0 and unlink dying ones under one spin lock; the collector, which runs with every mutator
/// stopped, moves whole lists at once.
///
/// `counts` follow CPython: `counts[0]` is allocations minus deallocations of containers since the
/// last collection of generation 0; `counts[g]` for g > 0 is the number of collections of generation
/// g - 1 since the last collection of g.
final class GenerationLists: @unchecked Sendable {
    static let permanent = 3
    let lock = OwnedSpinLock()
    private let table: HandleTable
    // Fixed-size fields in raw memory rather than arrays in class properties: every container
    // allocation and free touches them, and raw pointers carry no copy-on-write or exclusivity checks.
    let heads = UnsafeMutablePointer<UInt32>.allocate(capacity: 4)
    let tails = UnsafeMutablePointer<UInt32>.allocate(capacity: 4)
    let lengths = UnsafeMutablePointer<Int>.allocate(capacity: 4)
    let counts = UnsafeMutablePointer<Int>.allocate(capacity: 3)
    /// The slots linked into generation 0 since its last collection, in order, up to
    /// ``youngLogCapacity`` (later ones are not logged): a hint for the collector, which reads the
    /// young objects' table entries and headers through it in batches before it walks the list (see
    /// `StoppedHeap.updateRefs`). An entry may be stale (the object died, moved, or its slot was
    /// reused); the list stays the truth.
    let youngLog = UnsafeMutablePointer<UInt32>.allocate(capacity: GenerationLists.youngLogCapacity)
    var youngLogCount = 0
    /// The storage of the last collection's young list, kept for the next one (emptied, its capacity
    /// kept). Why: a million-object collection's list is 8 MB, and fresh memory costs a page fault per
    /// 4 KB (about 2,000, measured at 3 ms of a 25 ms collection). Touched only by the collection in
    /// progress (collections never overlap: `CycleCollector.collecting`).
    private var spareYoung: [ObjectLayout] = []

    /// Freezes so far (`gc.freeze()`), for a mark-alive pass running in steps (``AliveMarking``).
    var freezes = 0
    static let youngLogCapacity = 16_384

    init(table: HandleTable) {
        self.table = table
        heads.initialize(repeating: ObjectLayout.noLink, count: 4)
        tails.initialize(repeating: ObjectLayout.noLink, count: 4)
        lengths.initialize(repeating: 0, count: 4)
        counts.initialize(repeating: 0, count: 3)
    }

    deinit {
        heads.deallocate()
        tails.deallocate()
        lengths.deallocate()
        counts.deallocate()
        youngLog.deallocate()
    }

    /// The kept storage for a collection's young list (empty), or an empty array.
    func takeSpareYoung() -> [ObjectLayout] {
        var taken: [ObjectLayout] = []
        swap(&taken, &spareYoung)
        return taken
    }

    /// Keeps `young`'s storage for the next collection if it is larger than the one kept, and leaves
    /// `young` empty. Pass a uniquely held array (a shared one would be copied, not kept).
    func keepSpareYoung(_ young: inout [ObjectLayout]) {
        if young.capacity > spareYoung.capacity { swap(&young, &spareYoung) }
        spareYoung.removeAll(keepingCapacity: true)
        young = []
    }

    /// Copies of the counters, for reports.
    var lengthArray: [Int] { Array(UnsafeBufferPointer(start: lengths, count: 4)) }
    var countArray: [Int] { Array(UnsafeBufferPointer(start: counts, count: 3)) }

    @inline(__always)
    private func layout(_ slot: UInt32) -> ObjectLayout { ObjectLayout(table.object(slot)) }

    /// Links a container at the tail of `generation`; caller holds `lock` or has the heap to itself.
    func link(_ slot: UInt32, into generation: Int) {
        let object = layout(slot)
        object.gcPrev = tails[generation]
        object.gcNext = ObjectLayout.noLink
        if tails[generation] == ObjectLayout.noLink {
            heads[generation] = slot
        } else {
            layout(tails[generation]).gcNext = slot
        }
        tails[generation] = slot
        lengths[generation] += 1
        object.generation = generation
        object.setFlag(ObjectLayout.trackedFlag, true)
        if generation == 0 && youngLogCount < Self.youngLogCapacity {
            youngLog[youngLogCount] = slot
            youngLogCount += 1
        }
    }

    /// Unlinks a tracked container; caller holds `lock` or has the heap to itself.
    func unlink(_ slot: UInt32) {
        let object = layout(slot)
        detach(object)
        object.gcPrev = ObjectLayout.noLink
        object.gcNext = ObjectLayout.noLink
        object.setFlag(ObjectLayout.trackedFlag, false)
    }

    /// Takes a tracked container out of its generation's list (its neighbours relinked, the length
    /// lowered) and leaves its own links and flags as they are; caller holds `lock` or has the heap
    /// to itself.
    @inline(__always)
    private func detach(_ object: ObjectLayout) {
        let generation = object.generation
        let prev = object.gcPrev
        let next = object.gcNext
        if prev == ObjectLayout.noLink { heads[generation] = next } else { layout(prev).gcNext = next }
        if next == ObjectLayout.noLink { tails[generation] = prev } else { layout(next).gcPrev = prev }
        lengths[generation] -= 1
    }

    /// Counts a new container allocation (CPython counts every GC object, tracked or not) and, when
    /// `link` is set, tracks it in generation 0. Returns the new generation-0 count.
    func noteAllocation(_ slot: UInt32, link shouldLink: Bool) -> Int {
        lock.withLock {
            if shouldLink { link(slot, into: 0) }
            counts[0] += 1
            return counts[0]
        }
    }

    /// Starts tracking an existing untracked container (a dict that gained a container value), in
    /// generation 0. The caller holds the object's own lock.
    func trackExisting(_ slot: UInt32) {
        lock.withLock {
            if !layout(slot).isTracked { link(slot, into: 0) }
        }
    }

    /// Sets or clears a flag of an object under the list lock (the caller holds the object's lock), so
    /// flag bytes are never written by two threads at once.
    func setFlag(_ slot: UInt32, _ flag: UInt8, _ on: Bool) {
        lock.withLock { layout(slot).setFlag(flag, on) }
    }

    /// Untracks a dying container (if tracked) and lowers the generation-0 count, as CPython's
    /// `PyObject_GC_Del` does.
    func untrackDying(_ slot: UInt32) {
        lock.withLock {
            if layout(slot).isTracked { unlink(slot) }
            if counts[0] > 0 { counts[0] -= 1 }
        }
    }

    /// ``untrackDying(_:)`` for a batch of dying containers, under one lock acquisition.
    func untrackDying(_ slots: UnsafeBufferPointer<UInt32>) {
        guard !slots.isEmpty else { return }
        lock.withLock {
            // Detached only: a dying container's own links and tracked flag are not reset, since its
            // block is freed right after (FreeBatch) and nothing reads a dying object's links.
            for slot in slots {
                let object = layout(slot)
                if object.isTracked { detach(object) }
            }
            counts[0] = max(0, counts[0] - slots.count)
        }
    }

    /// The slots of `generation`, head to tail; caller has the heap to itself.
    func members(of generation: Int) -> [UInt32] {
        var result: [UInt32] = []
        result.reserveCapacity(lengths[generation])
        var slot = heads[generation]
        while slot != ObjectLayout.noLink {
            result.append(slot)
            slot = layout(slot).gcNext
        }
        return result
    }

    /// Forgets every member of `generation` (the collector has detached them); caller has the heap to
    /// itself.
    func empty(_ generation: Int) {
        heads[generation] = ObjectLayout.noLink
        tails[generation] = ObjectLayout.noLink
        lengths[generation] = 0
    }

    /// Appends a chain of `length` containers, already linked to each other through their gc links
    /// from `head` to `tail` and flagged tracked in `generation`, at the tail of `generation`, in O(1);
    /// caller has the heap to itself. (A restore links each generation's members as it builds them.)
    func append(chain head: UInt32, tail: UInt32, length: Int, to generation: Int) {
        guard length > 0 else { return }
        layout(head).gcPrev = tails[generation]
        if tails[generation] == ObjectLayout.noLink {
            heads[generation] = head
        } else {
            layout(tails[generation]).gcNext = head
        }
        tails[generation] = tail
        lengths[generation] += length
    }

    /// Appends every member of `source` to `target` in O(1), as CPython's `gc_list_merge`.
    func merge(_ source: Int, into target: Int) {
        guard source != target, heads[source] != ObjectLayout.noLink else { return }
        var slot = heads[source]
        while slot != ObjectLayout.noLink {
            let object = layout(slot)
            object.generation = target
            slot = object.gcNext
        }
        if tails[target] == ObjectLayout.noLink {
            heads[target] = heads[source]
        } else {
            layout(tails[target]).gcNext = heads[source]
            layout(heads[source]).gcPrev = tails[target]
        }
        tails[target] = tails[source]
        lengths[target] += lengths[source]
        empty(source)
    }
}
