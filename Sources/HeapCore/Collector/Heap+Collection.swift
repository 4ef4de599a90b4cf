import Dispatch
import Synchronization

// MARK: - The cycle collector's algorithm
//
// heapd's collector is CPython's generational cycle detector (Modules/gcmodule.c, explained in
// InternalDocs/garbage_collector.md), run with every mutator stopped (the heap's gate is held
// exclusively, so every reference count is stable while it works).
//
// Reference counting frees everything except reference cycles. To find cycles among the containers of
// the generations being collected ("young"), without knowing the roots:
//
//   1. update_refs:   gc_refs(o) = refcount(o) for every o in young.
//   2. subtract_refs: for every reference from a young object to a young object, gc_refs(target) -= 1.
//                     Afterwards gc_refs(o) counts only the references from *outside* young: variables,
//                     globals, older generations, the server.
//   3. reachability:  every o with gc_refs(o) > 0 is reachable from outside; so is everything it reaches.
//                     The rest of young is unreachable: cyclic garbage.
//   4. Tuples whose items can never be part of a cycle stop being tracked (CPython's untrack_tuples);
//      in full collections, dicts likewise (untrack_dicts).
//   5. Legacy finalizers (tp_del): unreachable objects that have one, and everything unreachable they
//      reach, are uncollectable: kept alive, moved to the old generation, the finalizer objects listed
//      in gc.garbage. Those only collectable garbage keeps alive die when it is freed (step 8), by
//      reference count, as in CPython: they are neither counted nor listed.
//   6. Weak references to the remaining unreachable objects are cleared (their callbacks reported)
//      before anything is freed.
//   7. Finalizers (__del__, PEP 442) of unreachable objects run once: the object is marked finalized and
//      the event reported. (heapd's finalizers run no code, so nothing is resurrected.)
//   8. Survivors move one generation up. Unreachable objects drop their references as CPython's
//      clearing does (tp_clear in order, a garbage object dying by count at once), which may free
//      objects outside the garbage; then their memory and slots go as a whole, in batches. Under
//      DEBUG_SAVEALL they are appended to gc.garbage instead.
//
//   0. mark_alive (full collections, when the server gave its roots): every young container the roots
//      reach is marked alive first, in one walk, and steps 1-3 treat it as a survivor without looking at
//      it (CPython 3.14's pass, gh-126491). Trial deletion then works only on what the roots do not
//      reach; what it finds unreachable is the same set, since a reference from an alive object would
//      have made its target alive too.
//
// The return value, as gc.collect()'s, is the number of unreachable objects found: collected plus
// uncollectable.
//
// Collector states of a young object (what the header holds during a collection):
//
//   alive            (extraFlags) step 0: reached from a root; cleared by step 1, which leaves such an
//                    object out of the candidates
//   flags.candidate  set for every other member of young at step 1; cleared when step 3 finds it reachable or
//                    step 5 uncollectable, so from step 6 on it marks the collectable garbage
//   gc prev          not a list link during a collection: the object's gc_refs (steps 1-3)
//   flags.reachable  step 3: set aside as tentatively unreachable; step 5: reached from a legacy finalizer
//
// The young list is detached at the start and every member is relinked (or freed) at the end, so the
// prev links can carry gc_refs in between, as CPython's PyGC_Head does.

/// What one collection found.
struct CollectionOutcome {
    var collected = 0
    var uncollectable = 0
    var examined = 0
    /// Objects to append to gc.garbage (retained for it).
    var garbage: [ObjectRef] = []
    /// Cyclic garbage, to be freed by ``StoppedHeap/deleteGarbage(_:shard:)`` before the world restarts
    /// (each still carries the candidate mark, which tells it from everything that survives).
    var doomed: [ObjectLayout] = []
    /// What dropping the doomed objects' references can do (from what subtract_refs counted).
    var doomedDrops = GarbageDrops.mayFree
}

/// What dropping a collection's garbage's references can do, which decides how they are dropped.
enum GarbageDrops {
    /// The garbage references only itself: nothing to drop.
    case none
    /// Besides itself it references only survivors of this collection's trial deletion: their counts
    /// go down and none reaches zero (each is reachable from outside), so no event can come of it and
    /// the order does not matter.
    case survivorsOnly
    /// It may reference objects that die of the drops: dropped in CPython's clearing order.
    case mayFree
}

/// The flag bits the passes use as scratch, by name. Each has one meaning within a pass.
enum Mark {
    /// A member of young (set by update_refs, cleared when an object is found reachable or at the end).
    static let candidate = ObjectLayout.candidateFlag
    /// move_unreachable: set aside as tentatively unreachable.
    static let tentativelyUnreachable = ObjectLayout.reachableFlag
    /// move_legacy_finalizer_reachable: reached from an object with a legacy finalizer.
    static let reachedFromLegacy = ObjectLayout.reachableFlag
    /// delete_garbage: the object's references are dropped (cleared, or dead by count).
    static let cleared = ObjectLayout.reachableFlag
    /// mark_alive (in `extraFlags`): reached from a root; lives from step 0 to step 1 only.
    static let alive = ObjectLayout.aliveFlag
}

extension StoppedHeap {
    /// Collects `generation` and every younger one, pass by pass as gcmodule.c's `gc_collect_main`.
    func collect(
        generation: Int, saveAll: Bool, debug: Int, longLived: inout (pending: Int, total: Int),
        marking: AliveMarking? = nil
    ) -> CollectionOutcome {
        let gens = heap.generations
        if generation + 1 < 3 { gens.counts[generation + 1] += 1 }
        for index in 0...generation { gens.counts[index] = 0 }

        var young: [ObjectLayout]
        var alive = MarkedSurvivors()
        var counted = 0
        if generation == 2, let marking {
            // Step 0, or its last stretch when it ran in steps between earlier stops (AliveMarking).
            markAlive(marking, until: .max)
            (young, alive, counted) = updateRefsKeepingMarked()
        } else {
            (young, counted) = updateRefs(generation: generation)
        }
        let examined = young.count + alive.inPlace
        validateGCRefs(young, examined: young.count)
        let summary = subtractRefs(young, counted: counted)
        validateGCRefs(young, examined: young.count)
        let (found, unreachable) =
            summary.allUnreachable ? splitWithoutWalk(young, candidates: summary.candidates) : moveUnreachable(&young)
        validateUnreachable(survivors: found, unreachable: unreachable)
        // The marked objects of generations 0 and 1 joined generation 2 first (updateRefsKeepingMarked),
        // then trial deletion's survivors.
        let dictsToCheck = untrackTuplesAndDicts(found, inPlace: alive.checks, full: generation == 2)
        let target = min(generation + 1, 2)
        let kept = alive.inPlace + moveSurvivors(found, into: target, untrackingDicts: dictsToCheck)
        if generation == 2 {
            longLived = (0, gens.lengths[2])
        } else if generation == 1 {
            longLived.pending += kept
        }
        let (collectable, uncollectable, needs) = moveLegacyFinalizers(unreachable, summary: summary)
        // CPython counts and saves the uncollectable objects only after delete_garbage has cleared the
        // collectable ones, and that clearing frees, by reference count, every uncollectable object that
        // only collectable garbage kept alive (a legacy finalizer hanging off a cycle): it runs its
        // finalizer then, and is neither counted nor put in gc.garbage. deleteGarbage frees the same
        // objects the same way; here they are only left out. Under DEBUG_SAVEALL nothing is cleared.
        // And handle_weakrefs takes a weakref with a callback (every heapd weakref has one: its event)
        // whose referent is collectable out of the finalizers, to call it: such a weakref among the
        // uncollectable objects joins the old generation uncounted, and is not saved in gc.garbage.
        // (Read before handleWeakrefs clears the weakrefs' targets.)
        let calledBack = Set(uncollectable.filter { weakrefTargetIsCollectable($0) }.map(\.slot))
        let remaining = (saveAll ? uncollectable : survivorsOfClearing(uncollectable)).filter {
            !calledBack.contains($0.slot)
        }
        if needs.weakrefs { handleWeakrefs(collectable) }
        if needs.finalizers { finalizeGarbage(collectable) }

        var outcome = CollectionOutcome()
        outcome.examined = examined
        outcome.uncollectable = remaining.count
        outcome.collected = collectable.count
        outcome.garbage = handleLegacyFinalizers(
            uncollectable, remaining: remaining, calledBack: calledBack, into: target, saveAll: saveAll, debug: debug)
        if debug & GCDebugFlags.collectable != 0 {
            for object in collectable {
                heap.emit(
                    .debug(
                        "gc: collectable <\(heap.typeName(of: ObjectRef(slot: object.slot))) \(heap.table.id(of: object.slot))>"
                    ))
            }
        }
        if saveAll {
            for object in collectable {
                object.flags &= ~Mark.candidate
                gens.link(object.slot, into: target)
                let ref = ObjectRef(slot: object.slot)
                heap.retain(ref)
                outcome.garbage.append(ref)
            }
        } else {
            outcome.doomed = collectable
            // No candidate references a non-candidate (and none became uncollectable): the garbage
            // references itself, and survivors when there are any.
            if summary.outside == 0 && uncollectable.isEmpty {
                outcome.doomedDrops = summary.allUnreachable ? .none : .survivorsOnly
            }
        }
        // young's storage is kept for the next collection, unless it became the garbage list (then the
        // collector keeps it once the garbage is freed: CycleCollector.runCollection).
        if !summary.allUnreachable { gens.keepSpareYoung(&young) }
        return outcome
    }

    // MARK: 1. update_refs

    /// Detaches the young generations (`generation` and every younger one, in the order
    /// `gc_list_merge` would join them) and sets gc_refs = refcount in the same walk.
    ///
    /// Postcondition: every young object not marked alive carries ``Mark/candidate`` and gc_refs (its
    /// `gc prev` word) equal to its reference count; no young object carries ``Mark/alive`` any more;
    /// the young lists are empty; the result lists young in CPython's order, with the sum of the
    /// candidates' gc_refs.
    private func updateRefs(generation: Int) -> (young: [ObjectLayout], counted: Int) {
        let gens = heap.generations
        let table = heap.table
        var counted = prepareYoung()
        var young = gens.takeSpareYoung()
        young.reserveCapacity((0...generation).reduce(0) { $0 + gens.lengths[$1] })
        // CPython merges each younger list at the end of the collected one: generation, then 0, 1, …
        for list in [generation] + Array(0..<generation) {
            var cursor = gens.heads[list]
            while cursor != ObjectLayout.noLink {
                let object = layout(cursor)
                let next = object.gcNext
                if object.extraFlags & Mark.alive != 0 {
                    // Reached from a root: a survivor that steps 2 and 3 pass over (not a candidate).
                    object.extraFlags &= ~Mark.alive
                } else if object.flags & Mark.candidate == 0 {  // not done by prepareYoung
                    counted &+= makeCandidate(object, refcount: table.refcount(cursor))
                }
                young.append(object)
                cursor = next
            }
            gens.empty(list)
        }
        return (young, counted)
    }

    /// Makes a young object a candidate of trial deletion: gc_refs (its `gc prev` word, no list link
    /// while the collection runs) starts at its reference count. Returns that gc_refs.
    @inline(__always)
    private func makeCandidate(_ object: ObjectLayout, refcount: Int) -> Int {
        let refs = min(refcount, Int(UInt32.max - 1))
        object.gcPrev = UInt32(truncatingIfNeeded: refs)
        object.flags |= Mark.candidate
        return refs
    }

    /// What a full collection after mark-alive keeps without examining it.
    struct MarkedSurvivors {
        /// Marked objects, left where they are in their lists: generation 2's, and generation 0's and
        /// 1's, whose lists (left with only marked objects) were then appended to generation 2 whole.
        var inPlace = 0
        /// Of those, the tuples and dicts, for untrack_tuples and untrack_dicts.
        var checks: [ObjectLayout] = []
    }

    /// update_refs of a full collection after mark-alive: only the unmarked objects become young (with
    /// gc_refs = refcount); the marked objects stay linked where they are, and the lists of generations
    /// 0 and 1, left with only marked objects, are appended to generation 2 whole (CPython's merge
    /// order: 2, then 0, 1).
    ///
    /// Why: on a mostly live heap nearly every object is marked, and moving a million survivors out of
    /// generation 2 and back (plus three passes that skip them) cost more than the marking; here they
    /// cost one walk that clears their marks. The same for young marked objects: detached into an array
    /// and linked into generation 2 one by one, a million of them (a full collection after a million
    /// allocations with collections off) cost a second pass over their headers, and the last stop took
    /// 12 ms. Survivors then follow the marked objects in generation 2 (protocol.md §6: the order of
    /// survivors differs from CPython 3.11's).
    ///
    /// Postcondition: young holds exactly the unmarked members of generations 0-2, each a candidate
    /// with gc_refs equal to its reference count and unlinked; generations 0 and 1 are empty;
    /// generation 2 holds the marked ones, in the order 2, 0, 1; no object carries ``Mark/alive``.
    private func updateRefsKeepingMarked() -> (young: [ObjectLayout], alive: MarkedSurvivors, counted: Int) {
        let gens = heap.generations
        let table = heap.table
        var counted = prepareYoung()
        var young = gens.takeSpareYoung()
        var alive = MarkedSurvivors()
        young.reserveCapacity(gens.lengths[0] + gens.lengths[1])
        // CPython merges each younger list at the end of the collected one: 2, then 0, 1. Each list is
        // detached whole, and its marked objects are chained anew as the walk meets them: an unmarked
        // one costs no link write (unlinking it by hand wrote both its neighbours), and a candidate's
        // `gc prev` word may hold its gc_refs already (set by prepareYoung), no link to unlink by.
        // Each chain joins generation 2's tail in O(1).
        let heads = (gens.heads[2], gens.heads[0], gens.heads[1])
        for list in 0...2 { gens.empty(list) }
        for (list, head) in [(2, heads.0), (0, heads.1), (1, heads.2)] {
            var cursor = head
            var chainHead = ObjectLayout.noLink
            var chainTail = ObjectLayout.noLink
            var chained = 0
            while cursor != ObjectLayout.noLink {
                let object = layout(cursor)
                let next = object.gcNext
                if object.extraFlags & Mark.alive != 0 {
                    object.extraFlags &= ~Mark.alive
                    if list != 2 { object.generation = 2 }
                    if object.kind == .tuple || object.kind == .dict { alive.checks.append(object) }
                    object.gcPrev = chainTail
                    if chainTail == ObjectLayout.noLink {
                        chainHead = cursor
                    } else {
                        layout(chainTail).gcNext = cursor
                    }
                    chainTail = cursor
                    chained += 1
                } else {
                    // Stays tracked (GenerationLists.unlink would untrack it); its links are stale.
                    if object.flags & Mark.candidate == 0 {  // not done by prepareYoung
                        counted &+= makeCandidate(object, refcount: table.refcount(cursor))
                    }
                    young.append(object)
                }
                cursor = next
            }
            if chained > 0 {
                layout(chainTail).gcNext = ObjectLayout.noLink
                gens.append(chain: chainHead, tail: chainTail, length: chained, to: 2)
                alive.inPlace += chained
            }
        }
        return (young, alive, counted)
    }

    /// update_refs for the objects of the young log (``GenerationLists/youngLog``), in batches: the
    /// table entries of 64 logged slots are read in one loop, their headers in the next.
    ///
    /// Why: generation 0's objects were just made by mutators on other cores, so the collector's first
    /// read of each table entry and header is a miss to another core's cache, and the list walk takes
    /// them one at a time, each next link known only after the last miss (two dependent misses per
    /// object: most of a generation-0 pause under load). Read through the log, the misses of a batch
    /// are in flight together; the walk that follows finds everything in cache. It sets gc_refs and
    /// the candidate mark of each logged object still in generation 0 (and not marked alive); the walk
    /// does the rest and keeps the list's order. The log is emptied: generation 0 is collected now.
    /// Returns the sum of the gc_refs it set.
    private func prepareYoung() -> Int {
        let gens = heap.generations
        let table = heap.table
        let count = gens.youngLogCount
        gens.youngLogCount = 0
        guard count > 0 else { return 0 }
        var counted = 0
        let batch = 64
        let words = UnsafeMutableBufferPointer<UnsafeMutableRawPointer?>.allocate(capacity: batch)
        let refcounts = UnsafeMutableBufferPointer<Int>.allocate(capacity: batch)
        defer {
            words.deallocate()
            refcounts.deallocate()
        }
        var start = 0
        while start < count {
            let end = min(start + batch, count)
            for index in start..<end {
                let slot = gens.youngLog[index]
                words[index - start] = table.objectIfAny(slot)
                refcounts[index - start] = table.refcount(slot)
            }
            for index in start..<end {
                guard let base = words[index - start], refcounts[index - start] > 0 else { continue }
                let object = ObjectLayout(base)
                guard object.kind.isContainer,
                    object.flags & (ObjectLayout.trackedFlag | ObjectLayout.generationMask | Mark.candidate)
                        == ObjectLayout.trackedFlag,
                    object.extraFlags & Mark.alive == 0
                else { continue }
                counted &+= makeCandidate(object, refcount: refcounts[index - start])
            }
            start = end
        }
        return counted
    }

    // MARK: 2. subtract_refs

    /// For every reference from a young object to a young object, gc_refs(target) -= 1.
    ///
    /// Postcondition: gc_refs counts only references from outside young (variables, globals, older
    /// generations, the server); it never goes below zero, since every such reference was counted.
    /// The summary's `allUnreachable` is true exactly when every candidate's gc_refs is now 0.
    ///
    /// `counted`: the sum of the candidates' gc_refs before the pass (update_refs adds them up).
    private func subtractRefs(_ young: [ObjectLayout], counted: Int) -> CandidateSummary {
        var summary = CandidateSummary()
        var subtracted = 0
        var outside = 0
        var flags: UInt8 = 0
        var weak = false
        var candidates = 0
        // An object marked alive is no candidate, and neither is anything it references.
        for object in young where object.flags & Mark.candidate != 0 {
            candidates += 1
            flags |= object.flags
            weak = weak || object.extraFlags & ObjectLayout.hasWeakrefsFlag != 0 || object.kind == .weakref
            heap.forEachReference(of: object) { child in
                guard child >= ObjectRef.immortalCount else { return }
                let target = layout(child)
                if target.flags & Mark.candidate != 0 {
                    target.gcPrev &-= 1
                    subtracted += 1
                } else {
                    outside += 1
                }
            }
        }
        summary.candidates = candidates
        // Every gc_refs is ≥ 0 (postcondition), so they are all 0 when their sum is.
        summary.allUnreachable = subtracted == counted
        summary.outside = outside
        summary.flags = flags
        summary.weakrefs = weak
        return summary
    }

    /// What subtract_refs saw of the candidates, in the walk it makes anyway, so that later passes
    /// can skip walks that would find nothing.
    struct CandidateSummary {
        /// How many candidates young holds.
        var candidates = 0
        /// Every candidate's gc_refs is 0: nothing outside young references any of them, so all are
        /// unreachable and move_unreachable has nothing to find (a heap of garbage only, or the
        /// unmarked rest of a full collection after mark-alive).
        var allUnreachable = false
        /// References from candidates to non-immortal objects that are not candidates.
        var outside = 0
        /// The union of the candidates' flag bytes (a superset of the unreachable ones' flags).
        var flags: UInt8 = 0
        /// Some candidate is a weakref or has weakrefs to it.
        var weakrefs = false
    }

    /// move_unreachable's result when subtract_refs found every candidate's gc_refs at 0: the
    /// candidates are the unreachable objects, the rest of young (marked alive) the survivors, both in
    /// young's order — what the walk would have produced, without reading every header twice more.
    private func splitWithoutWalk(_ young: [ObjectLayout], candidates: Int) -> (
        survivors: [ObjectLayout], unreachable: [ObjectLayout]
    ) {
        if candidates == young.count { return ([], young) }
        var survivors: [ObjectLayout] = []
        var unreachable: [ObjectLayout] = []
        unreachable.reserveCapacity(candidates)
        survivors.reserveCapacity(young.count - candidates)
        for object in young {
            if object.flags & Mark.candidate != 0 { unreachable.append(object) } else { survivors.append(object) }
        }
        return (survivors, unreachable)
    }

    // MARK: 3. move_unreachable

    /// Splits young into reachable survivors and unreachable objects, in CPython's order (the order
    /// survivors join the older generation). Walks young; an object with gc_refs > 0 is reachable: its
    /// young referents get gc_refs ≥ 1, and one already set aside as tentatively unreachable is moved
    /// back to the end of the walk. An object with gc_refs == 0 is set aside.
    ///
    /// Postcondition: survivors are no longer candidates; the unreachable are candidates, no longer
    /// marked tentatively unreachable, and are listed in young's order. `young` is consumed as the walk.
    private func moveUnreachable(_ young: inout [ObjectLayout]) -> (
        survivors: [ObjectLayout], unreachable: [ObjectLayout]
    ) {
        let heap = heap
        let count = young.count
        var survivors: [ObjectLayout] = []
        survivors.reserveCapacity(count)
        func visit(_ child: UInt32) {
            guard child >= ObjectRef.immortalCount else { return }
            let target = heap.layout(child)
            guard target.flags & Mark.candidate != 0 else { return }
            if target.flags & Mark.tentativelyUnreachable != 0 {
                target.flags &= ~Mark.tentativelyUnreachable
                target.gcPrev = 1
                young.append(target)
            } else if target.gcPrev == 0 {
                target.gcPrev = 1
            }
        }
        var index = 0
        while index < young.count {
            let object = young[index]
            index += 1
            // Marked alive: reachable, and so is everything it references (alive too, or not young).
            guard object.flags & Mark.candidate != 0 else {
                survivors.append(object)
                continue
            }
            guard object.gcPrev > 0 else {
                object.flags |= Mark.tentativelyUnreachable
                continue
            }
            // Referents in tp_traverse's order (list and tuple items last to first). The references
            // that traversal leaves out (dict keys, attribute names) are atomic strs, never candidates.
            heap.forEachTraversed(of: object, visit)
            object.flags &= ~Mark.candidate
            survivors.append(object)
        }
        // The first `count` entries are young in its original order; what was appended are repeats.
        var unreachable: [ObjectLayout] = []
        for object in young[0..<count] where object.flags & Mark.tentativelyUnreachable != 0 {
            object.flags &= ~Mark.tentativelyUnreachable
            unreachable.append(object)
        }
        return (survivors, unreachable)
    }

    // MARK: 4. untrack_tuples, untrack_dicts; survivors move up

    /// Every surviving tuple that cannot be in a cycle stops being tracked (untrack_tuples), then, in
    /// full collections, every such dict (untrack_dicts): two passes, because a dict's verdict depends
    /// on the tuples it holds. `inPlace`: marked tuples and dicts still linked in generation 2 (looked at
    /// first, as they come first in CPython's young list), unlinked when untracked.
    ///
    /// The dicts of `survivors` are left to ``moveSurvivors(_:into:untrackingDicts:)``, which looks at
    /// every survivor anyway (one walk over a million headers fewer): returns whether it must, that is
    /// whether the collection is full and the tuple pass saw a dict among them.
    private func untrackTuplesAndDicts(_ survivors: [ObjectLayout], inPlace: [ObjectLayout] = [], full: Bool)
        -> Bool
    {
        for object in inPlace where object.kind == .tuple && !holdsTrackable(object) {
            heap.generations.unlink(object.slot)
        }
        var sawDict = false
        for object in survivors {
            let kind = object.kind
            if kind == .tuple {
                if !holdsTrackable(object) { object.setFlag(ObjectLayout.trackedFlag, false) }
            } else if kind == .dict {
                sawDict = true
            }
        }
        guard full else { return false }
        for object in inPlace where object.kind == .dict && !holdsTrackable(object) {
            heap.generations.unlink(object.slot)
        }
        return sawDict
    }

    /// Links the still-tracked survivors at the tail of `target`, in order; returns how many. With
    /// `untrackingDicts`, first untracks each dict that holds nothing trackable (untrack_dicts, in the
    /// same order: linking changes no verdict).
    ///
    /// Postcondition: every survivor is either linked in `target` or untracked with no links.
    private func moveSurvivors(_ survivors: [ObjectLayout], into target: Int, untrackingDicts: Bool) -> Int {
        let gens = heap.generations
        var kept = 0
        for object in survivors {
            if untrackingDicts && object.kind == .dict && !holdsTrackable(object) {
                object.setFlag(ObjectLayout.trackedFlag, false)
            }
            guard object.isTracked else {
                object.gcPrev = ObjectLayout.noLink
                object.gcNext = ObjectLayout.noLink
                continue
            }
            gens.link(object.slot, into: target)
            kept += 1
        }
        return kept
    }

    // MARK: 5. move_legacy_finalizers, move_legacy_finalizer_reachable

    /// Which of the later passes have work: whether any collectable object has weakrefs or is one, and
    /// whether any has a finalizer that has not run (found in the partition's walk, so the passes
    /// that would find nothing are skipped).
    struct GarbageNeeds {
        var weakrefs = false
        var finalizers = false
    }

    /// Unreachable objects with a legacy finalizer (tp_del), and everything unreachable they reach,
    /// are uncollectable; the rest is collectable.
    ///
    /// Postcondition: the two lists partition `unreachable`, each in its order; the uncollectable are
    /// no longer candidates, the collectable still are; no object carries ``Mark/reachedFromLegacy``.
    private func moveLegacyFinalizers(_ unreachable: [ObjectLayout], summary: CandidateSummary) -> (
        collectable: [ObjectLayout], uncollectable: [ObjectLayout], needs: GarbageNeeds
    ) {
        // What the later passes need, from what subtract_refs saw of every candidate: a superset of the
        // garbage (harmless, the passes they enable look at each object again).
        var needs = GarbageNeeds()
        needs.finalizers = summary.flags & ObjectLayout.finalizerFlag != 0
        needs.weakrefs = summary.weakrefs
        // No candidate has a legacy finalizer: everything unreachable is collectable, without a walk.
        if summary.flags & ObjectLayout.legacyFinalizerFlag == 0 { return (unreachable, [], needs) }
        var stack: [UInt32] = []
        for object in unreachable where object.flags & ObjectLayout.legacyFinalizerFlag != 0 {
            object.flags |= Mark.reachedFromLegacy
            stack.append(object.slot)
        }
        if stack.isEmpty { return (unreachable, [], needs) }
        while let slot = stack.popLast() {
            heap.forEachReference(of: layout(slot)) { child in
                guard child >= ObjectRef.immortalCount else { return }
                let target = layout(child)
                if target.flags & (Mark.candidate | Mark.reachedFromLegacy) == Mark.candidate {
                    target.flags |= Mark.reachedFromLegacy
                    stack.append(child)
                }
            }
        }
        var collectable: [ObjectLayout] = []
        var uncollectable: [ObjectLayout] = []
        for object in unreachable {
            if object.flags & Mark.reachedFromLegacy != 0 {
                object.flags &= ~(Mark.reachedFromLegacy | Mark.candidate)
                uncollectable.append(object)
            } else {
                collectable.append(object)
            }
        }
        return (collectable, uncollectable, needs)
    }

    // MARK: 6. handle_weakrefs

    /// Weak references to collectable objects are cleared before anything is freed; a weakref that is
    /// itself unreachable (still a candidate) is cleared without its callback, as in CPython. A weakref
    /// that is itself garbage is cleared too, whatever its referent (bpo-38006): under DEBUG_SAVEALL it
    /// then reads None from gc.garbage.
    private func handleWeakrefs(_ collectable: [ObjectLayout]) {
        for object in collectable where object.extraFlags & ObjectLayout.hasWeakrefsFlag != 0 {
            heap.clearWeakrefs(to: object.slot, silent: { layout($0).flags & Mark.candidate != 0 })
        }
        for object in collectable where object.kind == .weakref {
            heap.unregisterWeakref(object.slot, object)
            object.weakTarget.pointee.store(0, ordering: .releasing)
        }
    }

    // MARK: 7. finalize_garbage

    /// Finalizers (__del__, PEP 442) of collectable objects run once: the object is marked finalized
    /// and the event reported. (heapd's finalizers run no code, so nothing is resurrected.)
    private func finalizeGarbage(_ collectable: [ObjectLayout]) {
        for object in collectable
        where object.hasFlag(ObjectLayout.finalizerFlag) && !object.hasFlag(ObjectLayout.finalizedFlag) {
            object.setFlag(ObjectLayout.finalizedFlag, true)
            heap.emit(
                .finalizer(
                    object: heap.table.id(of: object.slot), typeName: heap.typeName(of: ObjectRef(slot: object.slot))))
        }
    }

    // MARK: 8. handle_legacy_finalizers

    /// The uncollectable join `target`, in CPython's order (the weakrefs whose callbacks run first);
    /// those the freeing will free leave it then. Of the `remaining` (those counted), the ones with a
    /// legacy finalizer (every one under DEBUG_SAVEALL) go to gc.garbage, retained. Returns them.
    private func handleLegacyFinalizers(
        _ uncollectable: [ObjectLayout], remaining: [ObjectLayout], calledBack: Set<UInt32>, into target: Int,
        saveAll: Bool, debug: Int
    ) -> [ObjectRef] {
        for object in uncollectable where calledBack.contains(object.slot) {
            heap.generations.link(object.slot, into: target)
        }
        for object in uncollectable where !calledBack.contains(object.slot) {
            heap.generations.link(object.slot, into: target)
        }
        var garbage: [ObjectRef] = []
        for object in remaining {
            let ref = ObjectRef(slot: object.slot)
            if saveAll || object.hasFlag(ObjectLayout.legacyFinalizerFlag) {
                heap.retain(ref)
                garbage.append(ref)
            }
            if debug & GCDebugFlags.uncollectable != 0 {
                heap.emit(.debug("gc: uncollectable <\(heap.typeName(of: ref)) \(heap.table.id(of: object.slot))>"))
            }
        }
        return garbage
    }

    // MARK: 9. delete_garbage

    /// Frees cyclic garbage before the world restarts (so no id can reach it meanwhile).
    ///
    /// The garbage drops its references in CPython's clearing order (``dropGarbageReferences``), which
    /// may free objects outside it by refcount (nothing outside references into the set, so those
    /// cascades never reach it); then the set's memory and slots are freed in batches
    /// (``Heap/freeGarbage(_:shard:threads:)``), with no per-object lock. Weakrefs were cleared and
    /// finalizers ran before (steps 6 and 7), as in CPython. The two walks cannot be one: an object
    /// freed early would be read again as another one's referent.
    ///
    /// `drops`: what the collection found the references can do (``CollectionOutcome/doomedDrops``).
    ///
    /// `helper`: a thread started with the stop, to free a large garbage set with (two threads).
    func deleteGarbage(
        _ doomed: [ObjectLayout], shard: Int, threads: Int = 1, drops: GarbageDrops = .mayFree,
        helper: HelperThread? = nil
    ) {
        guard !doomed.isEmpty else { return }
        dropGarbageReferences(doomed, shard: shard, drops: drops, condemning: false)
        heap.freeGarbage(doomed, shard: shard, threads: threads, helper: helper)
    }

    /// delete_garbage's part that needs the stop, for garbage whose memory is freed after the world
    /// restarts (``Heap/freeGarbage(_:shard:threads:)``, run as a mutator with no stop in between):
    /// the garbage drops its references (``dropGarbageReferences``), and every garbage object's count
    /// ends at zero (dropped by the walk, or set when there is no walk), so that from the restart on
    /// no id resolves to it (``HandleTable/acquire(_:)`` takes only a nonzero count) and a young
    /// collection's log skips its stale entry.
    func condemnGarbage(_ doomed: [ObjectLayout], shard: Int, drops: GarbageDrops = .mayFree) {
        guard !doomed.isEmpty else { return }
        dropGarbageReferences(doomed, shard: shard, drops: drops, condemning: true)
    }

    /// delete_garbage's first walk: the garbage drops its references in the order CPython's clearing
    /// drops them, so that the finalizers and weakref callbacks of the objects outside the set that
    /// die of it are reported in CPython's order. It stays on one thread for that order.
    ///
    /// CPython walks the garbage in order and clears each object (`tp_clear`: a list drops its items
    /// last to first); a garbage object whose count reaches zero meanwhile dies at once (`tp_dealloc`
    /// drops its references then, in the middle of its referrer's clearing) and is not cleared again;
    /// a tuple has no `tp_clear` and goes only when its count does. Here the same: the references
    /// between garbage objects are counted down too, and an object whose count reaches zero drops
    /// its own references before its referrer goes on (depth first, with an explicit stack: a long
    /// garbage chain must not recurse). Memory is not freed here (``Heap/freeGarbage``). Dropping
    /// the outside references in plain list order instead was off wherever a garbage object dies by
    /// count before its turn (the differential test's seed 9100029300219: a tuple cleared by its
    /// list's clearing, whose item's weakref callback CPython reports first).
    ///
    /// Afterwards every garbage object's count is zero (each internal reference was dropped once), so
    /// no id resolves to it. When no event can come of the drops (`drops` is not ``GarbageDrops/mayFree``)
    /// the order does not matter: only the references to survivors are dropped, in one plain walk (a
    /// young collection's usual case: the ordered walk was 29% of its samples under load), and the
    /// garbage's counts are set to zero when `condemning`.
    private func dropGarbageReferences(_ doomed: [ObjectLayout], shard: Int, drops: GarbageDrops, condemning: Bool) {
        let heap = heap
        guard drops == .mayFree else {
            for object in doomed {
                if drops == .survivorsOnly {
                    heap.forEachReference(of: object) { child in
                        guard child >= ObjectRef.immortalCount, heap.layout(child).flags & Mark.candidate == 0 else {
                            return
                        }
                        // A survivor: reachable from outside, so its count stays above zero.
                        if heap.dropReference(child) { heap.deallocate(child, shard: shard) }
                    }
                }
                if condemning { heap.table.condemn(object.slot) }
            }
            return
        }
        let table = heap.table
        // The references still to drop, in CPython's order (``ReleaseStack``). One loop, no nested
        // functions: state captured by them was boxed and every access checked for exclusivity at run
        // time (a third of a young collection).
        var stack = ReleaseStack()
        // Two sweeps: the garbage in order, tuples left out (no tp_clear); then what is left.
        for index in 0..<(2 * doomed.count) {
            let first = index < doomed.count
            let object = doomed[first ? index : index - doomed.count]
            guard object.flags & Mark.cleared == 0, !first || object.kind != .tuple else { continue }
            object.flags |= Mark.cleared
            stack.begin(object, heap: heap, clearing: true)
            while let child = stack.nextReference() {
                guard child >= ObjectRef.immortalCount else { continue }
                let target = heap.layout(child)
                if target.flags & Mark.candidate != 0 {
                    // Garbage dead by count now, unless already cleared: its references go first.
                    if table.dropWhileStopped(child) && target.flags & Mark.cleared == 0 {
                        target.flags |= Mark.cleared
                        stack.begin(target, heap: heap)
                    }
                } else if heap.dropReference(child) {
                    heap.deallocate(child, shard: shard)
                }
            }
        }
    }

    // MARK: Helpers

    /// Whether `object` is a weakref whose referent is collectable garbage of the collection in
    /// progress (a candidate: step 5 done, step 6 not yet).
    private func weakrefTargetIsCollectable(_ object: ObjectLayout) -> Bool {
        guard object.kind == .weakref else { return false }
        let raw = object.weakTarget.pointee.load(ordering: .acquiring)
        guard raw != 0 else { return false }
        return layout(ObjectID(rawValue: raw).slot).flags & Mark.candidate != 0
    }

    /// The uncollectable objects that outlive the freeing of the collectable garbage.
    ///
    /// Every reference to an uncollectable object comes from unreachable objects (its gc_refs was 0), and
    /// the collectable ones hold none once freed; so what outlives them is what the uncollectable objects
    /// keep alive among themselves. Counts references among them, then frees, in this model, each whose
    /// count is 0 and what it alone held: the rest is what CPython finds left in its `finalizers` list.
    private func survivorsOfClearing(_ uncollectable: [ObjectLayout]) -> [ObjectLayout] {
        guard !uncollectable.isEmpty else { return [] }
        var index: [UInt32: Int] = [:]
        index.reserveCapacity(uncollectable.count)
        for (position, object) in uncollectable.enumerated() { index[object.slot] = position }
        var count = [Int](repeating: 0, count: uncollectable.count)
        for object in uncollectable {
            heap.forEachReference(of: object) { child in
                if let position = index[child] { count[position] += 1 }
            }
        }
        var dies = [Bool](repeating: false, count: uncollectable.count)
        var work = count.indices.filter { count[$0] == 0 }
        // Invariant: every position in `work` has a count of 0 and is not yet marked as dying.
        while let position = work.popLast() {
            dies[position] = true
            heap.forEachReference(of: uncollectable[position]) { child in
                guard let target = index[child] else { return }
                count[target] -= 1
                if count[target] == 0 { work.append(target) }
            }
        }
        return uncollectable.indices.filter { !dies[$0] }.map { uncollectable[$0] }
    }

    /// Whether a tuple or dict holds anything that may be tracked (CPython's _PyTuple_MaybeUntrack and
    /// _PyDict_MaybeUntrack keep such a container tracked).
    private func holdsTrackable(_ object: ObjectLayout) -> Bool {
        var found = false
        heap.forEachReference(of: object) { child in
            if !found && heap.mayBeTracked(child) { found = true }
        }
        return found
    }

    // MARK: Validation (debug builds, as gcmodule.c's validate_list)

    /// After update_refs and subtract_refs: no young object keeps the alive mark, and every candidate has
    /// 0 ≤ gc_refs ≤ refcount (a wrapped subtraction would show as a huge value).
    private func validateGCRefs(_ young: [ObjectLayout], examined: Int) {
        #if DEBUG
            precondition(young.count == examined, "gc: young changed size")
            for object in young {
                precondition(object.extraFlags & Mark.alive == 0, "gc: young object still marked alive")
                guard object.flags & Mark.candidate != 0 else { continue }
                precondition(
                    Int(object.gcPrev) <= heap.table.refcount(object.slot),
                    "gc: gc_refs \(object.gcPrev) above refcount \(heap.table.refcount(object.slot))")
            }
        #endif
    }

    /// After move_unreachable: survivors are not candidates; the unreachable are candidates with
    /// gc_refs 0 and no tentative mark.
    private func validateUnreachable(survivors: [ObjectLayout], unreachable: [ObjectLayout]) {
        #if DEBUG
            for object in survivors {
                precondition(object.flags & Mark.candidate == 0, "gc: survivor still a candidate")
            }
            for object in unreachable {
                precondition(
                    object.flags & (Mark.candidate | Mark.tentativelyUnreachable) == Mark.candidate,
                    "gc: unreachable object lost its candidate mark or kept its tentative one")
                precondition(object.gcPrev == 0, "gc: unreachable object with gc_refs \(object.gcPrev)")
            }
        #endif
    }
}

/// The `gc.DEBUG_*` flags, with CPython's values.
public enum GCDebugFlags {
    public static let stats = 1
    public static let collectable = 2
    public static let uncollectable = 4
    public static let saveAll = 32
    public static let leak = collectable | uncollectable | saveAll
}

extension Heap {
    /// Frees a collection's garbage, whose references to objects outside it were dropped: its
    /// objects' blocks, payloads and slots, in batches (``FreeBatch``). Called by delete_garbage with
    /// the world stopped, or right after the stop as a mutator (``StoppedHeap/condemnGarbage(_:shard:drops:)``):
    /// nothing else can reach these objects, so it needs no stop, only the gate's shared side (a
    /// stopped-world reader must not see them half freed).
    ///
    /// It frees nothing but the set's own memory and reports nothing, so with `threads` of 2 and a
    /// large set it runs in two halves at once, each in its own shard.
    func freeGarbage(_ doomed: [ObjectLayout], shard: Int, threads: Int = 1, helper: HelperThread? = nil) {
        guard !doomed.isEmpty else { return }
        let parts = doomed.count >= Self.parallelFreeMinimum ? max(1, min(threads, 2)) : 1
        guard parts > 1 else {
            freeGarbage(doomed[...], shard: shard)
            return
        }
        // Chunks taken in turn from a shared counter, not two fixed halves: the second thread starts
        // late (with halves the calling thread then waited for it). Each thread frees into its own
        // shard's sets; neighbouring chunks are mostly in different pools, and the allocator takes
        // the owning shard's lock per pool, so the two rarely want it at once.
        let chunks = (doomed.count + Self.parallelFreeChunk - 1) / Self.parallelFreeChunk
        let nextChunk = Atomic<Int>(0)
        // Object addresses are not Sendable; here each chunk is read by one thread only, nothing else
        // reaches them, and the helper is joined before this returns.
        nonisolated(unsafe) let objects = doomed
        let work: @Sendable (Int) -> Void = { part in
            while true {
                let chunk = nextChunk.add(1, ordering: .relaxed).oldValue
                guard chunk < chunks else { break }
                let start = chunk * Self.parallelFreeChunk
                let end = min(start + Self.parallelFreeChunk, objects.count)
                self.freeGarbage(objects[start..<end], shard: shard + part)
            }
        }
        // The collector's helper, running since the stop began (HelperThread says why), or one
        // started now.
        let second = helper ?? HelperThread()
        second.run { work(1) }
        work(0)
        second.join()
    }

    /// Below this many objects a second thread costs more to wake than it saves.
    static let parallelFreeMinimum = 32_768
    /// Objects per chunk of a parallel free: about 60 µs of work, so the thread that started first
    /// takes over the late one's share with little to wait at the end.
    static let parallelFreeChunk = 8_192

    /// Frees doomed objects through a batch of their own.
    private func freeGarbage(_ objects: ArraySlice<ObjectLayout>, shard: Int) {
        let batch = FreeBatch()
        for object in objects {
            // No count0 decrement for these frees: in CPython they happen right after count0 was reset;
            // and they are in no generation list (detached by update_refs).
            addToBatch(object.slot, object, batch, shard: shard, untrack: false)
            if batch.isFull { flush(batch, shard: shard) }
        }
        flush(batch, shard: shard)
    }
}
