/// Listings that walk the heap with the world stopped: `gc.get_objects`, `gc.get_referrers`, and the
/// objects a full collection would find unreachable.
///
/// They page by handle-table slot, like Redis's SCAN: each call examines slots from a cursor and
/// returns the next cursor (0 when the table is exhausted), so no reply holds a million objects. A call
/// also stops when its ``StepBudget`` is spent (a millisecond by default): the world is stopped for the
/// call, and `get_referrers` of an object nothing references would otherwise scan the whole table in
/// one stop. So a call may return fewer objects than asked for with a cursor that is not 0, as SCAN may.
extension StoppedHeap {
    /// Tracked containers (in `generation`, or in any of 0...2), scanning slots from `fromSlot` until
    /// `limit` are found. The refs are not retained.
    public func trackedObjects(
        generation: Int?, fromSlot: Int, limit: Int, budget: StepBudget = .listingCall
    ) -> (next: Int, [ObjectRef]) {
        scanTracked(fromSlot: fromSlot, limit: limit, budget: budget) { object, _ in
            generation.map { $0 == object.generation } ?? true
        }
    }

    /// `gc.get_referrers`: tracked containers of generations 0-2 whose `tp_traverse` visits `target`
    /// (``forEachTraversed(of:_:)``), scanning from `fromSlot`. As in CPython, which walks only the three
    /// generation lists, the permanent generation (`gc.freeze()`) is not searched. The refs are not
    /// retained.
    public func referrers(
        of target: ObjectRef, fromSlot: Int, limit: Int, budget: StepBudget = .listingCall
    ) -> (next: Int, [ObjectRef]) {
        let heap = heap
        return scanTracked(fromSlot: fromSlot, limit: limit, budget: budget) { object, budget in
            var refers = false
            var followed = 0
            heap.forEachTraversed(of: object) {
                followed += 1
                if $0 == target.slot { refers = true }
            }
            _ = budget.spend(followed)
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
    /// The walk covers the whole heap in one stop (it is not stepped); the scan after it is bounded like
    /// the other listings. The refs are not retained.
    public func unreachable(roots external: [HeapRoot], fromSlot: Int, limit: Int) -> (
        next: Int, [ObjectRef]
    ) {
        var roots = roots(adding: external)
        for slot in heap.generations.members(of: GenerationLists.permanent) {
            roots.append(HeapRoot(label: "permanent generation", ref: ObjectRef(slot: slot), holder: .variable))
        }
        let walk = reachability(from: roots)
        return scanTracked(fromSlot: fromSlot, limit: limit, budget: .listingCall) {
            object, _ in
            Int(object.slot) >= walk.reached.count || !walk.reached[Int(object.slot)]
        }
    }

    /// The one cursor walk the listings share: live tracked containers of generations 0-2 from
    /// `fromSlot` that satisfy `matches`, until `limit` are found or `budget` is spent; the next cursor
    /// is 0 once the table is exhausted. Each object found costs a few units more: the caller describes
    /// it in the same stop.
    private func scanTracked(
        fromSlot: Int, limit: Int, budget: StepBudget, matches: (ObjectLayout, inout StepBudget) -> Bool
    ) -> (next: Int, [ObjectRef]) {
        var budget = budget
        var found: [ObjectRef] = []
        let limit = min(limit, Self.maxFoundPerCall)
        let table = heap.table
        let end = table.slotsEverUsed
        var slot = max(fromSlot, Int(ObjectRef.immortalCount))
        while slot < end && found.count < limit && budget.spend() {
            defer { slot += 1 }
            guard table.refcount(UInt32(slot)) > 0, let address = table.objectIfAny(UInt32(slot)) else { continue }
            let object = ObjectLayout(address)
            guard object.kind.isContainer, object.isTracked, object.generation != GenerationLists.permanent,
                matches(object, &budget)
            else { continue }
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
