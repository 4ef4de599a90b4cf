/// Listings that walk the heap with the world stopped: `gc.get_objects`, `gc.get_referrers`.
///
/// They page by handle-table slot, like Redis's SCAN: each call examines slots from a cursor and
/// returns the next cursor (0 when the table is exhausted), so no reply holds a million objects.
extension Heap {
    /// Tracked containers (in `generation`, or in any of 0...2), scanning slots from `fromSlot` until
    /// `limit` are found. Caller holds the gate exclusively; the refs are not retained.
    public func trackedObjectsStopped(generation: Int?, fromSlot: Int, limit: Int) -> (next: Int, [ObjectRef]) {
        scanTrackedStopped(fromSlot: fromSlot, limit: limit) { object in
            let objectGeneration = object.generation
            if objectGeneration == GenerationLists.permanent { return false }
            return generation.map { $0 == objectGeneration } ?? true
        }
    }

    /// Tracked containers that reference `target`, scanning from `fromSlot`. Caller holds the gate
    /// exclusively; the refs are not retained.
    public func referrersStopped(of target: ObjectRef, fromSlot: Int, limit: Int) -> (next: Int, [ObjectRef]) {
        scanTrackedStopped(fromSlot: fromSlot, limit: limit) { object in
            var refers = false
            forEachReference(of: object) { if $0 == target.slot { refers = true } }
            return refers
        }
    }

    /// The one cursor walk both listings share: live tracked containers from `fromSlot` that satisfy
    /// `matches`, until `limit` are found; the next cursor is 0 once the table is exhausted.
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
            guard object.kind.isContainer, object.isTracked, matches(object) else { continue }
            found.append(ObjectRef(slot: UInt32(slot)))
        }
        return (slot < end ? slot : 0, found)
    }
}
