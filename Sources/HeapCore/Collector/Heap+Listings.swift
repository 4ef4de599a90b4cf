/// Listings that walk the heap with the world stopped: `gc.get_objects`, `gc.get_referrers`.
///
/// They page by handle-table slot, like Redis's SCAN: each call examines slots from a cursor and
/// returns the next cursor (0 when the table is exhausted), so no reply holds a million objects. A call
/// also stops when its ``StepBudget`` is spent (a millisecond by default): the world is stopped for the
/// call, and `get_referrers` of an object nothing references would otherwise scan the whole table in
/// one stop. So a call may return fewer objects than asked for with a cursor that is not 0, as SCAN may.
extension Heap {
    /// Tracked containers (in `generation`, or in any of 0...2), scanning slots from `fromSlot` until
    /// `limit` are found. Caller holds the gate exclusively; the refs are not retained.
    public func trackedObjectsStopped(
        generation: Int?, fromSlot: Int, limit: Int, budget: StepBudget = StepBudget(nanoseconds: 1_000_000)
    ) -> (next: Int, [ObjectRef]) {
        scanTrackedStopped(fromSlot: fromSlot, limit: limit, budget: budget) { object, _ in
            let objectGeneration = object.generation
            if objectGeneration == GenerationLists.permanent { return false }
            return generation.map { $0 == objectGeneration } ?? true
        }
    }

    /// Tracked containers that reference `target`, scanning from `fromSlot`. Caller holds the gate
    /// exclusively; the refs are not retained.
    public func referrersStopped(
        of target: ObjectRef, fromSlot: Int, limit: Int, budget: StepBudget = StepBudget(nanoseconds: 1_000_000)
    ) -> (next: Int, [ObjectRef]) {
        scanTrackedStopped(fromSlot: fromSlot, limit: limit, budget: budget) { object, budget in
            var refers = false
            var followed = 0
            forEachReference(of: object) {
                followed += 1
                if $0 == target.slot { refers = true }
            }
            _ = budget.spend(followed)
            return refers
        }
    }

    /// The one cursor walk both listings share: live tracked containers from `fromSlot` that satisfy
    /// `matches`, until `limit` are found or `budget` is spent; the next cursor is 0 once the table is
    /// exhausted. Each object found costs a few units more: the caller describes it in the same stop.
    private func scanTrackedStopped(
        fromSlot: Int, limit: Int, budget: StepBudget, matches: (ObjectLayout, inout StepBudget) -> Bool
    ) -> (next: Int, [ObjectRef]) {
        var budget = budget
        var found: [ObjectRef] = []
        let limit = min(limit, Self.maxFoundPerCall)
        let end = table.slotsEverUsed
        var slot = max(fromSlot, Int(ObjectRef.immortalCount))
        while slot < end && found.count < limit && budget.spend() {
            defer { slot += 1 }
            guard table.refcount(UInt32(slot)) > 0, let address = table.objectIfAny(UInt32(slot)) else { continue }
            let object = ObjectLayout(address)
            guard object.kind.isContainer, object.isTracked, matches(object, &budget) else { continue }
            found.append(ObjectRef(slot: UInt32(slot)))
            _ = budget.spend(Self.describeCost)
        }
        return (slot < end ? slot : 0, found)
    }

    /// What describing one object found (`'#id type'`, two strings made) costs, in units of a
    /// ``StepBudget`` (a unit is a slot examined: ~15 ns; a description ~400 ns).
    private static let describeCost = 32

    /// The most objects one call finds, whatever its `limit`: the caller describes each in the same
    /// stop of the world, about a millisecond for this many.
    public static let maxFoundPerCall = 2048
}
