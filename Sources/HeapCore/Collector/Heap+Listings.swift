/// Listings that walk the heap with the world stopped: `gc.get_objects`, `gc.get_referrers`.
///
/// They page by handle-table slot, like Redis's SCAN: each call examines slots from a cursor and
/// returns the next cursor (0 when the table is exhausted), so no reply holds a million objects.
extension Heap {
    /// Tracked containers (in `generation`, or in any of 0...2), scanning slots from `fromSlot` until
    /// `limit` are found. Caller holds the gate exclusively; the refs are not retained.
    public func trackedObjectsStopped(generation: Int?, fromSlot: Int, limit: Int) -> (next: Int, [ObjectRef]) {
        var found: [ObjectRef] = []
        let end = table.slotsEverUsed
        var slot = max(fromSlot, Int(ObjectRef.immortalCount))
        while slot < end && found.count < limit {
            defer { slot += 1 }
            guard table.refcount(UInt32(slot)) > 0, let address = table.objectIfAny(UInt32(slot)) else { continue }
            let object = ObjectLayout(address)
            guard object.kind.isContainer, object.isTracked else { continue }
            let objectGeneration = object.generation
            if let generation, objectGeneration != generation { continue }
            if objectGeneration == GenerationLists.permanent { continue }
            found.append(ObjectRef(slot: UInt32(slot)))
        }
        return (slot < end ? slot : 0, found)
    }

    /// Tracked containers that reference `target`, scanning from `fromSlot`. Caller holds the gate
    /// exclusively; the refs are not retained.
    public func referrersStopped(of target: ObjectRef, fromSlot: Int, limit: Int) -> (next: Int, [ObjectRef]) {
        var found: [ObjectRef] = []
        let end = table.slotsEverUsed
        var slot = max(fromSlot, Int(ObjectRef.immortalCount))
        while slot < end && found.count < limit {
            defer { slot += 1 }
            guard table.refcount(UInt32(slot)) > 0, let address = table.objectIfAny(UInt32(slot)) else { continue }
            let object = ObjectLayout(address)
            guard object.kind.isContainer, object.isTracked else { continue }
            var refers = false
            forEachReference(of: object) { if $0 == target.slot { refers = true } }
            if refers { found.append(ObjectRef(slot: UInt32(slot))) }
        }
        return (slot < end ? slot : 0, found)
    }
}
