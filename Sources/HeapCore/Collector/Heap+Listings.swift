/// Listings that walk the heap with the world stopped: `gc.get_objects`, `gc.get_referrers`, and the
/// objects a full collection would find unreachable.
///
/// They page by handle-table slot, like Redis's SCAN: each call examines slots from a cursor and
/// returns the next cursor (0 when the table is exhausted), so no reply holds a million objects.
extension Heap {
    /// Tracked containers (in `generation`, or in any of 0...2), scanning slots from `fromSlot` until
    /// `limit` are found. Caller holds the gate exclusively; the refs are not retained.
    public func trackedObjectsStopped(generation: Int?, fromSlot: Int, limit: Int) -> (next: Int, [ObjectRef]) {
        scanTrackedStopped(fromSlot: fromSlot, limit: limit) { object in
            generation.map { $0 == object.generation } ?? true
        }
    }

    /// `gc.get_referrers`: tracked containers of generations 0-2 whose `tp_traverse` visits `target`
    /// (``forEachTraversed(of:_:)``), scanning from `fromSlot`. As in CPython, which walks only the three
    /// generation lists, the permanent generation (`gc.freeze()`) is not searched. Caller holds the
    /// gate exclusively; the refs are not retained.
    public func referrersStopped(of target: ObjectRef, fromSlot: Int, limit: Int) -> (next: Int, [ObjectRef]) {
        scanTrackedStopped(fromSlot: fromSlot, limit: limit) { object in
            var refers = false
            forEachTraversed(of: object) { if $0 == target.slot { refers = true } }
            return refers
        }
    }

    /// The objects a full collection would find unreachable now (collected, uncollectable or left to
    /// die with them), without collecting anything: the tracked containers of generations 0-2 that
    /// nothing outside them keeps alive, scanning slots from `fromSlot` until `limit` are found.
    ///
    /// This is `DOCTOR`'s reachability walk from the roots (`external`: variables, globals, what a
    /// paused command holds; gc.garbage is added), with the permanent generation's objects as roots too:
    /// a collection never examines them, so what they reference counts as referenced from outside.
    /// Caller holds the gate exclusively; the refs are not retained.
    public func unreachableStopped(roots external: [HeapRoot], fromSlot: Int, limit: Int) -> (
        next: Int, [ObjectRef]
    ) {
        var roots = rootsStopped(adding: external)
        for slot in generations.members(of: GenerationLists.permanent) {
            roots.append(HeapRoot(label: "permanent generation", ref: ObjectRef(slot: slot), holder: .variable))
        }
        let walk = reachabilityStopped(from: roots)
        return scanTrackedStopped(fromSlot: fromSlot, limit: limit) { object in
            Int(object.slot) >= walk.reached.count || !walk.reached[Int(object.slot)]
        }
    }

    /// The one cursor walk the listings share: live tracked containers of generations 0-2 from
    /// `fromSlot` that satisfy `matches`, until `limit` are found; the next cursor is 0 once the table
    /// is exhausted.
    private func scanTrackedStopped(fromSlot: Int, limit: Int, matches: (ObjectLayout) -> Bool)
        -> (next: Int, [ObjectRef])
    {
        var found: [ObjectRef] = []
        let end = table.slotsEverUsed
        var slot = max(fromSlot, Int(ObjectRef.immortalCount))
        while slot < end && found.count < limit {
            defer { slot += 1 }
            guard table.refcount(UInt32(slot)) > 0, let address = table.objectIfAny(UInt32(slot)) else { continue }
            let object = ObjectLayout(address)
            guard object.kind.isContainer, object.isTracked, object.generation != GenerationLists.permanent,
                matches(object)
            else { continue }
            found.append(ObjectRef(slot: UInt32(slot)))
        }
        return (slot < end ? slot : 0, found)
    }
}
