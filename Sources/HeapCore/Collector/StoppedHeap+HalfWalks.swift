import Dispatch

/// update_refs' walk of generation 2 on two threads, one from each end of the list.
///
/// Why: the walk is bound by memory latency, not by work. Each step needs the next object's slot from
/// the current header, then its table entry, then its header: two dependent loads per object, one
/// walker keeps one chain of misses in flight (about 9 ms for a million objects). The list is doubly
/// linked and its length known, so a second walker can start from the tail and go backwards; each
/// takes its half by count, so they never meet and need no synchronisation but the join. The second
/// core is idle in a stop anyway (its mutator is parked).
///
/// What each walker writes is its own half's: gc_refs and marks of its objects, and, when the marked
/// objects stay in generation 2 (``StoppedHeap/updateRefsKeepingMarked()``), the links between the
/// marked objects it saw. The two chains of kept objects are joined afterwards, so generation 2 ends
/// as the sequential walk leaves it: the marked objects, in their order. young is the unmarked ones in
/// list order (the backward half reversed), as the sequential walk lists them.
struct HalfWalk {
    /// The objects that join young, in the walker's order.
    var young: [ObjectLayout] = []
    /// The sum of the gc_refs the walker set.
    var counted = 0
    /// Marked objects left in generation 2 (keeping marked only).
    var kept = 0
    /// Of those, the tuples and dicts, for untrack_tuples and untrack_dicts.
    var checks: [ObjectLayout] = []
    /// The first and last kept objects in list order (``ObjectLayout/noLink`` when none).
    var firstKept = ObjectLayout.noLink
    var lastKept = ObjectLayout.noLink
}

extension StoppedHeap {
    /// Below this many objects in generation 2, waking a second thread costs more than it saves.
    static let halfWalkMinimum = 65_536

    /// Whether update_refs walks generation 2 in two halves at once.
    func walksInHalves(threads: Int) -> Bool {
        threads >= 2 && heap.generations.lengths[2] >= Self.halfWalkMinimum
    }

    /// Walks generation 2 in two halves at once and returns what the sequential walk would find, in
    /// its order. `keepingMarked`: marked objects stay linked in generation 2 (the list is rebuilt from
    /// them and its length set); otherwise every object joins young (the marked ones as survivors, not
    /// candidates) and the caller empties the list.
    func walkGenerationTwoInHalves(keepingMarked: Bool) -> HalfWalk {
        let gens = heap.generations
        let count = gens.lengths[2]
        let first = count / 2
        let head = gens.heads[2]
        let tail = gens.tails[2]
        let heap = heap
        // One result per walker, each written by its own thread only; read after both are joined.
        nonisolated(unsafe) let halves = UnsafeMutableBufferPointer<HalfWalk>.allocate(capacity: 2)
        halves.initialize(repeating: HalfWalk())
        defer {
            _ = halves.deinitialize()
            halves.deallocate()
        }
        DispatchQueue.concurrentPerform(iterations: 2) { part in
            halves[part] = Self.walkHalf(
                heap: heap, from: part == 0 ? head : tail, count: part == 0 ? first : count - first,
                forward: part == 0, keepingMarked: keepingMarked)
        }
        var front = halves[0]
        let back = halves[1]
        front.young += back.young
        front.counted &+= back.counted
        guard keepingMarked else { return front }
        front.checks += back.checks
        front.kept += back.kept
        // Join the two chains of kept objects; the ends' outer links still point where they did.
        if front.lastKept != ObjectLayout.noLink && back.firstKept != ObjectLayout.noLink {
            layout(front.lastKept).gcNext = back.firstKept
            layout(back.firstKept).gcPrev = front.lastKept
        }
        let newHead = front.firstKept != ObjectLayout.noLink ? front.firstKept : back.firstKept
        let newTail = back.lastKept != ObjectLayout.noLink ? back.lastKept : front.lastKept
        if newHead != ObjectLayout.noLink {
            layout(newHead).gcPrev = ObjectLayout.noLink
            layout(newTail).gcNext = ObjectLayout.noLink
        }
        gens.heads[2] = newHead
        gens.tails[2] = newTail
        gens.lengths[2] = front.kept
        front.firstKept = newHead
        front.lastKept = newTail
        return front
    }

    /// One walker: `count` objects from `start`, forwards (by next links) or backwards (by prev links,
    /// read before gc_refs overwrites them). Touches only the objects it visits.
    private static func walkHalf(heap: Heap, from start: UInt32, count: Int, forward: Bool, keepingMarked: Bool)
        -> HalfWalk
    {
        let table = heap.table
        var walk = HalfWalk()
        var cursor = start
        // The kept object seen last (in walking order), which the next kept one links to.
        var previousKept = ObjectLayout.noLink
        for _ in 0..<count {
            let object = heap.layout(cursor)
            let step = forward ? object.gcNext : object.gcPrev
            if object.extraFlags & Mark.alive != 0 {
                object.extraFlags &= ~Mark.alive
                if keepingMarked {
                    walk.kept += 1
                    if object.kind == .tuple || object.kind == .dict { walk.checks.append(object) }
                    if previousKept == ObjectLayout.noLink {
                        if forward { walk.firstKept = cursor } else { walk.lastKept = cursor }
                    } else if forward {
                        heap.layout(previousKept).gcNext = cursor
                        object.gcPrev = previousKept
                    } else {
                        heap.layout(previousKept).gcPrev = cursor
                        object.gcNext = previousKept
                    }
                    previousKept = cursor
                } else {
                    // Reached from a root: a survivor that steps 2 and 3 pass over (not a candidate).
                    walk.young.append(object)
                }
            } else {
                if object.flags & Mark.candidate == 0 {
                    walk.counted &+= makeCandidate(object, refcount: table.refcount(cursor))
                }
                walk.young.append(object)
            }
            cursor = step
        }
        if forward { walk.lastKept = previousKept } else { walk.firstKept = previousKept }
        if !forward {
            walk.young.reverse()
            walk.checks.reverse()
        }
        return walk
    }
}
