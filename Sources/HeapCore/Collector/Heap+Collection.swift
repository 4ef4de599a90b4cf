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
//   8. Survivors move one generation up. Unreachable objects are freed as a whole: each drops its
//      references to objects outside the garbage, then its memory and slot go (CPython clears each
//      container with tp_clear and lets the refcounts free them; the effect is the same, without a
//      decref per internal reference). Under DEBUG_SAVEALL they are appended to gc.garbage instead.
//
// The return value, as gc.collect()'s, is the number of unreachable objects found: collected plus
// uncollectable.
//
// Collector states of a young object (what the header holds during a collection):
//
//   flags.candidate  set for every member of young at step 1; cleared when step 3 finds it reachable or
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
    /// Cyclic garbage, already dead to the world (counts zeroed), to be freed after the mutators resume.
    var doomed: [UInt32] = []
}

extension Heap {
    /// Collects `generation` and every younger one. The caller holds the gate exclusively.
    func collectStopped(
        generation: Int, saveAll: Bool, debug: Int, longLived: inout (pending: Int, total: Int)
    ) -> CollectionOutcome {
        let gens = generations
        let candidate = ObjectLayout.candidateFlag
        let reachable = ObjectLayout.reachableFlag
        var outcome = CollectionOutcome()

        if generation + 1 < 3 { gens.counts[generation + 1] += 1 }
        for index in 0...generation { gens.counts[index] = 0 }
        for index in 0..<generation { gens.merge(index, into: generation) }
        // Detach the young list and, in the same walk, 1. update_refs.
        // Postcondition: every young object is a candidate with gc_refs = refcount, and `objects`
        // holds their addresses (so later passes skip the handle table).
        var objects: [ObjectLayout] = []
        objects.reserveCapacity(gens.lengths[generation])
        var cursor = gens.heads[generation]
        while cursor != ObjectLayout.noLink {
            let object = layout(cursor)
            let next = object.gcNext
            object.gcPrev = UInt32(truncatingIfNeeded: min(table.refcount(cursor), Int(UInt32.max - 1)))
            object.flags |= candidate
            objects.append(object)
            cursor = next
        }
        gens.heads[generation] = ObjectLayout.noLink
        gens.tails[generation] = ObjectLayout.noLink
        gens.lengths[generation] = 0
        outcome.examined = objects.count

        // 2. subtract_refs. Postcondition: gc_refs counts references from outside young only.
        for object in objects {
            forEachReference(of: object) { child in
                guard child >= ObjectRef.immortalCount else { return }
                let target = layout(child)
                if target.flags & candidate != 0 { target.gcPrev &-= 1 }
            }
        }
        // 3. move_unreachable, in CPython's order (the order matters: it is the order in which step 8
        // untracks tuples, and the order survivors join the older generation). Walk young; an object
        // with gc_refs > 0 is reachable: its young referents get gc_refs >= 1, and one already set
        // aside as tentatively unreachable is moved back to the end of the walk. An object with
        // gc_refs == 0 is set aside as tentatively unreachable. `reachable` marks "set aside" here.
        // Invariant: a processed reachable object is no longer a candidate; survivors are in walk order.
        let setAside = reachable
        var walk = objects
        var survivors: [ObjectLayout] = []
        survivors.reserveCapacity(objects.count)
        var index = 0
        while index < walk.count {
            let object = walk[index]
            index += 1
            guard object.gcPrev > 0 else {
                object.flags |= setAside
                continue
            }
            // Referents in tp_traverse's order: list and tuple items last to first.
            let visit = { (child: UInt32) in
                guard child >= ObjectRef.immortalCount else { return }
                let target = self.layout(child)
                guard target.flags & candidate != 0 else { return }
                if target.flags & setAside != 0 {
                    target.flags &= ~setAside
                    target.gcPrev = 1
                    walk.append(target)
                } else if target.gcPrev == 0 {
                    target.gcPrev = 1
                }
            }
            if object.kind == .list || object.kind == .tuple {
                for child in object.sequenceItems.reversed() { visit(child) }
            } else {
                forEachReference(of: object, visit)
            }
            object.flags &= ~candidate
            survivors.append(object)
        }
        var unreachable: [UInt32] = []
        for object in objects where object.flags & setAside != 0 {
            object.flags &= ~setAside
            unreachable.append(object.slot)
        }
        var stack: [UInt32] = []

        // 4-5. Legacy finalizers: they and all they reach among the unreachable are uncollectable
        // (move_legacy_finalizers, move_legacy_finalizer_reachable). They stop being collection
        // candidates here, as CPython's gc_clear_collecting does: a weakref among them is not garbage,
        // so step 6 reports its callback.
        for slot in unreachable where layout(slot).hasFlag(ObjectLayout.legacyFinalizerFlag) {
            layout(slot).flags |= reachable
            stack.append(slot)
        }
        markFrom(&stack, within: candidate, mark: reachable)
        var collectable: [UInt32] = []
        var uncollectable: [UInt32] = []
        for slot in unreachable {
            let object = layout(slot)
            if object.flags & reachable != 0 {
                uncollectable.append(slot)
                object.flags &= ~candidate
            } else {
                collectable.append(slot)
            }
            object.flags &= ~reachable
        }
        // CPython counts and saves the uncollectable objects only after delete_garbage has cleared the
        // collectable ones, and that clearing frees, by reference count, every uncollectable object that
        // only collectable garbage kept alive (a legacy finalizer hanging off a cycle): it runs its
        // finalizer then, and is neither counted nor put in gc.garbage. freeDoomed frees the same objects
        // the same way; here they are only left out. Under DEBUG_SAVEALL nothing is cleared.
        // And handle_weakrefs takes a weakref with a callback (every heapd weakref has one: its event)
        // whose referent is collectable out of the finalizers, to call it: such a weakref among the
        // uncollectable objects joins the old generation uncounted, and is not saved in gc.garbage.
        let calledBack = Set(uncollectable.filter { weakrefTargetIsCollectable($0) })
        let remaining = (saveAll ? uncollectable : survivorsOfClearing(uncollectable)).filter {
            !calledBack.contains($0)
        }

        // 6. Weak references to collectable objects are cleared before anything is freed; a weakref
        // that is itself unreachable (still a candidate) is cleared without its callback, as in CPython.
        for slot in collectable where layout(slot).extraFlags & ObjectLayout.hasWeakrefsFlag != 0 {
            clearWeakrefs(to: slot, silent: { self.layout($0).flags & candidate != 0 })
        }
        // A weakref that is itself garbage is cleared too, whatever its referent (CPython, bpo-38006):
        // under DEBUG_SAVEALL it then reads None from gc.garbage.
        for slot in collectable where layout(slot).kind == .weakref {
            let object = layout(slot)
            unregisterWeakref(slot, object)
            object.weakTarget.pointee.store(0, ordering: .releasing)
        }
        // 7. Finalizers run once (PEP 442).
        for slot in collectable {
            let object = layout(slot)
            if object.hasFlag(ObjectLayout.finalizerFlag) && !object.hasFlag(ObjectLayout.finalizedFlag) {
                object.setFlag(ObjectLayout.finalizedFlag, true)
                emit(.finalizer(object: table.id(of: slot), typeName: typeName(of: ObjectRef(slot: slot))))
            }
        }

        for slot in unreachable { layout(slot).flags &= ~candidate }

        // 8. Survivors move up. First every tuple that cannot be in a cycle stops being tracked
        // (untrack_tuples), then, in full collections, every such dict (untrack_dicts): two passes,
        // because a dict's verdict depends on the tuples it holds.
        for object in survivors where object.kind == .tuple && !holdsTrackable(object) {
            object.setFlag(ObjectLayout.trackedFlag, false)
        }
        if generation == 2 {
            for object in survivors where object.kind == .dict && !holdsTrackable(object) {
                object.setFlag(ObjectLayout.trackedFlag, false)
            }
        }
        let target = min(generation + 1, 2)
        var kept = 0
        for object in survivors {
            guard object.isTracked else {
                object.gcPrev = ObjectLayout.noLink
                object.gcNext = ObjectLayout.noLink
                continue
            }
            gens.link(object.slot, into: target)
            kept += 1
        }
        if generation == 2 {
            longLived = (0, gens.lengths[2])
        } else if generation == 1 {
            longLived.pending += kept
        }

        // Every uncollectable object joins the old generation, in CPython's order (the weakrefs whose
        // callbacks ran first); those the freeing will free leave it then.
        for slot in uncollectable where calledBack.contains(slot) { gens.link(slot, into: target) }
        for slot in uncollectable where !calledBack.contains(slot) { gens.link(slot, into: target) }
        for slot in remaining {
            let object = layout(slot)
            if saveAll || object.hasFlag(ObjectLayout.legacyFinalizerFlag) {
                let ref = ObjectRef(slot: slot)
                retain(ref)
                outcome.garbage.append(ref)
            }
            if debug & GCDebugFlags.uncollectable != 0 {
                emit(.debug("gc: uncollectable <\(typeName(of: ObjectRef(slot: slot))) \(table.id(of: slot))>"))
            }
        }
        outcome.uncollectable = remaining.count
        outcome.collected = collectable.count

        if debug & GCDebugFlags.collectable != 0 {
            for slot in collectable {
                emit(.debug("gc: collectable <\(typeName(of: ObjectRef(slot: slot))) \(table.id(of: slot))>"))
            }
        }
        if saveAll {
            for slot in collectable {
                gens.link(slot, into: target)
                let ref = ObjectRef(slot: slot)
                retain(ref)
                outcome.garbage.append(ref)
            }
        } else {
            markDoomed(collectable)
            outcome.doomed = collectable
        }
        return outcome
    }

    /// Marks everything reachable from `stack` among objects carrying `within` and not yet `mark`.
    private func markFrom(_ stack: inout [UInt32], within: UInt8, mark: UInt8) {
        while let slot = stack.popLast() {
            forEachReference(of: layout(slot)) { child in
                guard child >= ObjectRef.immortalCount else { return }
                let target = layout(child)
                if target.flags & (within | mark) == within {
                    target.flags |= mark
                    stack.append(child)
                }
            }
        }
    }

    /// Whether `slot` is a weakref whose referent is collectable garbage of the collection in progress
    /// (a candidate: steps 4-5 done, step 6 not yet).
    private func weakrefTargetIsCollectable(_ slot: UInt32) -> Bool {
        let object = layout(slot)
        guard object.kind == .weakref else { return false }
        let raw = object.weakTarget.pointee.load(ordering: .acquiring)
        guard raw != 0 else { return false }
        return layout(ObjectID(rawValue: raw).slot).flags & ObjectLayout.candidateFlag != 0
    }

    /// The uncollectable objects that outlive the freeing of the collectable garbage.
    ///
    /// Every reference to an uncollectable object comes from unreachable objects (its gc_refs was 0), and
    /// the collectable ones hold none once freed; so what outlives them is what the uncollectable objects
    /// keep alive among themselves. Counts references among them, then frees, in this model, each whose
    /// count is 0 and what it alone held: the rest is what CPython finds left in its `finalizers` list.
    private func survivorsOfClearing(_ uncollectable: [UInt32]) -> [UInt32] {
        guard !uncollectable.isEmpty else { return [] }
        var index: [UInt32: Int] = [:]
        index.reserveCapacity(uncollectable.count)
        for (position, slot) in uncollectable.enumerated() { index[slot] = position }
        var count = [Int](repeating: 0, count: uncollectable.count)
        for slot in uncollectable {
            forEachReference(of: layout(slot)) { child in
                if let position = index[child] { count[position] += 1 }
            }
        }
        var dies = [Bool](repeating: false, count: uncollectable.count)
        var work = count.indices.filter { count[$0] == 0 }
        // Invariant: every position in `work` has a count of 0 and is not yet marked as dying.
        while let position = work.popLast() {
            dies[position] = true
            forEachReference(of: layout(uncollectable[position])) { child in
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
        forEachReference(of: object) { child in
            if !found && mayBeTracked(child) { found = true }
        }
        return found
    }

    /// Makes cyclic garbage unreachable by id before the world restarts: each object is flagged doomed
    /// and its count is zeroed (keeping the slot's generation), so `acquire(#id)` fails on it as on a
    /// freed object. Nothing else can reach it: the set is closed (nothing that survives references
    /// into it). Caller holds the gate exclusively.
    private func markDoomed(_ slots: [UInt32]) {
        for slot in slots {
            let object = layout(slot)
            object.flags |= ObjectLayout.candidateFlag
            object.setFlag(ObjectLayout.trackedFlag, false)
            let word = table.word(slot)
            word.pointee.store(word.pointee.load(ordering: .relaxed) & ~HandleTable.refcountMask, ordering: .releasing)
        }
    }

    /// Frees cyclic garbage marked by ``markDoomed(_:)``. Caller holds the gate exclusively.
    ///
    /// Instead of CPython's clear-then-decref dance, each object drops only its references to objects
    /// *outside* the set (which may free them, by refcount), then its memory and slot are released
    /// directly. Weakrefs were cleared and finalizers ran before (steps 6 and 7), as in CPython.
    func freeDoomed(_ slots: [UInt32], shard: Int) {
        let doomed = ObjectLayout.candidateFlag
        for slot in slots {
            forEachReference(of: layout(slot)) { child in
                guard child >= ObjectRef.immortalCount, layout(child).flags & doomed == 0 else { return }
                if dropReference(child) { deallocate(child, shard: shard) }
            }
        }
        // No count0 decrement for these frees: in CPython they happen right after count0 was reset.
        for slot in slots {
            let object = layout(slot)
            if object.extraFlags & ObjectLayout.hasWeakrefsFlag != 0 { clearWeakrefs(to: slot) }
            if object.kind == .weakref { unregisterWeakref(slot, object) }
            freePayload(of: object, shard: shard)
            let size = object.blockSize
            counters.remove(kind: object.kind, bytes: SizeClass.footprint(size), shard: shard)
            allocator.free(object.base, size: size, shard: shard)
            table.release(slot, shard: shard)
        }
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
