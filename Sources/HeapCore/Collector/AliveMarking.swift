import CPrefetch

// MARK: - mark_alive, whole or in steps
//
// A full collection first marks every tracked container its roots reach (``Mark/alive``) and runs
// trial deletion only on the rest (CPython 3.14's mark-alive pass, gh-126491). On a heap of a million
// live objects the marking is most of the collection, 100 ms or more in one stop. So it can also run in
// steps: each step stops the world for about a millisecond, marks what it can, and lets the mutators
// run again; the collection proper runs in a last stop, on what stayed unmarked.
//
// Why that is sound without a write barrier: the marks are only a shortcut past trial deletion, never a
// verdict of death. Between two steps a mutator may store an unmarked object into one already scanned
// (the case a write barrier exists for in tracing collectors). Trial deletion then counts that reference
// as one from outside the candidates — a marked object is no candidate — so the object is found
// reachable all the same. The reference counts are exact when the last stop looks at them, and trial
// deletion on any subset of the heap finds only garbage.
//
// What the steps give up: an object marked in an early step that becomes garbage before the last stop
// survives this collection (floating garbage) and is found by the next one. Only automatic collections
// run in steps; `gc.collect()` (GC COLLECT) marks in its one stop and stays exact.
//
// Between steps the world moves: a marked object may die (its slot reused), move generation, or be
// frozen. The mark stack therefore keeps object ids, not addresses, and an entry pushed in an earlier
// stop is checked against the handle table before it is read. A mark left on an object that left the
// young generations before the last stop (frozen meanwhile) is cleared by that stop.

/// The state of one mark-alive pass: roots still to mark, and marked objects whose references are still
/// to scan. Used by the collector thread only; read and written only with the world stopped.
final class AliveMarking {
    /// The roots not yet gathered (taken in the pass's first stop).
    private(set) var roots: [ObjectRef]
    var rootIndex = 0
    /// A marked object still to scan, by raw ``ObjectID`` (slot and slot generation), and for a long
    /// list or tuple the index of the first item not yet scanned.
    struct Entry {
        /// The object's address, read only after `id` is checked when the entry is from an earlier stop
        /// (an object never moves while it lives). Kept so that a pop costs no table read: on a big
        /// heap that read is a cache miss (measured: 30 ms of the 1M random graph's marking).
        var base: UnsafeMutableRawPointer
        var id: UInt64
        var offset: Int = 0
    }
    /// Items of a list or tuple scanned at once: a longer one is scanned in chunks, so that a step
    /// ends near its deadline even in a million-item list.
    static let chunk = 4096
    var stack: [Entry] = []
    /// Objects marked so far.
    var marked = 0
    /// Stops the pass has run in.
    var steps = 0
    /// `GenerationLists.freezes` when the pass began: a freeze in between may carry marks into the
    /// permanent generation.
    let freezesAtStart: Int

    /// Scratch for ``StoppedHeap/markAlive(_:until:)``: referenced slots gathered for one batch, and
    /// their objects' addresses.
    let slots = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: AliveMarking.batch * 2)
    let addresses = UnsafeMutableBufferPointer<UnsafeMutableRawPointer?>.allocate(capacity: AliveMarking.batch * 2)
    static let batch = 64

    /// One bit per slot that the pass has already looked at (made at its first step, for the slots
    /// handed out by then): a reference to such a slot is passed over before its table entry and
    /// header are read.
    ///
    /// Why: on a heap bigger than the caches each look costs two cache misses, and most references
    /// of a well-connected heap lead to an object already marked (in the 1M random graph, 1.5M of
    /// 2.5M); a million slots' bits are 128 KB, which stay in the cache. A bit is a hint only: a slot
    /// freed and reused between two steps keeps its bit, and its new object stays unmarked, which
    /// trial deletion then examines (unmarked is always safe).
    var seen: UnsafeMutablePointer<UInt64>?
    /// Slots covered by `seen`.
    var seenSlots = 0

    init(roots: [ObjectRef], freezes: Int = 0) {
        self.roots = roots
        freezesAtStart = freezes
    }

    deinit {
        slots.deallocate()
        addresses.deallocate()
        seen?.deallocate()
    }

    var isFinished: Bool { rootIndex == roots.count && stack.isEmpty }
}

extension StoppedHeap {
    /// Marks alive what `marking`'s roots reach, through tp_traverse's references, until everything is
    /// marked or the monotonic clock passes `deadline` (checked every few hundred objects); returns
    /// whether everything is marked. Untracked containers and the permanent generation are not walked
    /// into: what hangs only below them is left to trial deletion, which counts their references as
    /// external ones.
    ///
    /// Postcondition when it returns true: every tracked container of generations 0-2 reachable from the
    /// roots (as the heap is now) through marked objects is marked, or was marked when an earlier step
    /// scanned the object that referenced it.
    @discardableResult
    func markAlive(_ marking: AliveMarking, until deadline: UInt64) -> Bool {
        // Memory latency bounds this walk: each reference costs two dependent cache misses on a heap
        // bigger than the cache (the slot's table entry, then the object's header), and one object at a
        // time the CPU waits for each. So references are taken in batches: first every table entry of
        // the batch is loaded, then every header, and the loads within a stage, independent of each
        // other, are in flight together (the idea of gh-129201's prefetch buffer, without a prefetch
        // instruction). Measured on the 1M random graph: see Benchmarks/run.sh gc.
        let heap = heap
        let table = heap.table
        let slots = marking.slots
        let addresses = marking.addresses
        let batch = AliveMarking.batch
        if marking.seen == nil {
            marking.seenSlots = table.slotsEverUsed
            let words = (marking.seenSlots + 63) / 64
            let bits = UnsafeMutablePointer<UInt64>.allocate(capacity: max(words, 1))
            bits.initialize(repeating: 0, count: max(words, 1))
            marking.seen = bits
        }
        let seen = marking.seen!
        let seenSlots = UInt32(truncatingIfNeeded: marking.seenSlots)
        marking.steps += 1
        // The pass's state is worked on in locals and put back at the end: mutated through the class,
        // every push and pop would pay a dynamic exclusivity check (measured: the 1M random graph's
        // marking took 1.7x as long).
        var stack = marking.stack
        marking.stack = []
        var checkedFloor = stack.count
        var marked = marking.marked
        var rootIndex = marking.rootIndex
        let roots = marking.roots
        defer {
            marking.stack = stack
            marking.marked = marked
            marking.rootIndex = rootIndex
        }
        var pending = 0
        var sinceClock = 0
        // The clock is read every `clockInterval` objects (a read costs about 20 ns): rarely for the
        // usual millisecond steps, often for the tiny steps the soak uses to split small heaps.
        let now = monotonicNanoseconds()
        let clockInterval = deadline == .max || deadline - min(deadline, now) >= 100_000 ? 256 : 16
        /// Marks the young containers among the `pending` gathered slots alive and pushes them, in three
        /// stages so that each stage's misses are in flight together: the table entries are requested
        /// (prefetch), then read, each object's header requested; then the headers are read.
        ///
        /// Why prefetch, not loads alone: the header loop branches on what each header holds (about
        /// half of a random graph's references reach an object already marked), and a mispredicted
        /// branch waiting on a missing load discards the loads issued after it; the hints are issued
        /// with no branch between them (measured on the 1M random graph: see docs/002-collector.md).
        @inline(__always)
        func markBatch() {
            for index in 0..<pending { heapd_prefetch(table.entryAddress(slots[index])) }
            for index in 0..<pending {
                let base = table.objectIfAny(slots[index])
                addresses[index] = base
                if let base {
                    // The flags and the first items: a block may straddle two cache lines.
                    heapd_prefetch(base)
                    heapd_prefetch(base + 24)
                }
            }
            for index in 0..<pending {
                guard let base = addresses[index] else { continue }
                let object = ObjectLayout(base)
                guard object.kind.isContainer, object.flags & ObjectLayout.trackedFlag != 0,
                    object.generation != 3, object.extraFlags & Mark.alive == 0
                else { continue }
                object.extraFlags |= Mark.alive
                stack.append(AliveMarking.Entry(base: base, id: table.id(of: slots[index]).rawValue))
            }
            pending = 0
        }
        @inline(__always)
        func gather(_ child: UInt32) {
            guard child >= ObjectRef.immortalCount else { return }
            if child < seenSlots {
                let word = Int(child >> 6)
                let bit = UInt64(1) << UInt64(child & 63)
                if seen[word] & bit != 0 { return }
                seen[word] |= bit
            }
            // A big container: mark what is gathered so far, then go on with its items.
            if pending == slots.count { markBatch() }
            slots[pending] = child
            pending += 1
        }
        while true {
            // Gather a batch of referenced slots: the roots first, then the referents of marked objects.
            while pending < batch, rootIndex < roots.count {
                let slot = roots[rootIndex].slot
                rootIndex += 1
                if slot >= ObjectRef.immortalCount {
                    slots[pending] = slot
                    pending += 1
                }
            }
            // Also bounded by the clock's interval: objects whose references were all seen already
            // gather nothing, and a long run of them must still reach the deadline check below.
            while pending < batch, sinceClock < clockInterval, let entry = stack.popLast() {
                if stack.count < checkedFloor {
                    // Pushed in an earlier stop: the object may have died since (its slot freed or reused).
                    checkedFloor = stack.count
                    let id = ObjectID(rawValue: entry.id)
                    guard table.id(of: id.slot) == id, table.refcount(id.slot) > 0 else { continue }
                }
                let object = ObjectLayout(entry.base)
                if entry.offset == 0 { marked += 1 }
                sinceClock += 1
                if object.kind == .list || object.kind == .tuple {
                    // Re-read each time: between stops the list may have grown, shrunk or moved its items.
                    let items = object.sequenceItems
                    let end = min(items.count, entry.offset + AliveMarking.chunk)
                    if entry.offset < end { for index in entry.offset..<end { gather(items[index]) } }
                    if end < items.count {
                        // The rest of the list goes on top, to be scanned next: a long list's items are
                        // often neighbours in memory, and marked in its order they stream through the
                        // cache (measured on the 1M random graph, whose root holds half the nodes in
                        // allocation order: 205 ms with the rest below the items, 120 ms on top).
                        markBatch()
                        stack.append(AliveMarking.Entry(base: entry.base, id: entry.id, offset: end))
                        sinceClock += clockInterval  // a chunk is as much work as a batch of small objects
                    }
                } else {
                    heap.forEachTraversed(of: object, gather)
                }
            }
            if pending == 0 && stack.isEmpty && rootIndex == roots.count { break }
            if pending > 0 { markBatch() }
            // The roots are all gathered in the first stop: they are references the pass does not hold.
            if sinceClock >= clockInterval && rootIndex == roots.count {
                sinceClock = 0
                if monotonicNanoseconds() >= deadline { break }
            }
        }
        return rootIndex == roots.count && stack.isEmpty
    }

    /// Clears the marks a freeze carried into the permanent generation while a pass ran in steps (the
    /// last stop's update_refs clears the rest, in generations 0-2).
    func clearFrozenMarks(_ marking: AliveMarking) {
        guard heap.generations.freezes != marking.freezesAtStart else { return }
        for slot in heap.generations.members(of: GenerationLists.permanent) {
            layout(slot).extraFlags &= ~Mark.alive
        }
    }
}
