/// Retained sizes on the live heap (`TYPES RETAINED`, `CHAIN x RETAINED`): what freeing an object
/// would free, from a dominator tree of the objects the roots reach, as `heapctl inspect` computes them
/// offline (``ImageAnalysis``) and Eclipse MAT shows them.
///
/// **Definitions.** The graph has a virtual root whose successors are the roots (every session's
/// variables, the globals, `gc.garbage`; ``StoppedHeap/roots(adding:)``) and an edge per reference.
/// Object d *dominates* x when every path from the roots to x passes through d. The *retained size*
/// of x is its own bytes (its block and payload, as `TYPES` counts them) plus the bytes of every
/// object it dominates: what would be freed, by reference counting or the next collection, once
/// nothing referenced x. A type's retained size is the retained size of its objects that no other
/// object of the same type dominates: the bytes of the type's objects and of everything one of them
/// dominates, each object counted once. Objects no root reaches (cyclic garbage waiting for a
/// collection) retain nothing and are retained by nothing.
///
/// **Cost, and the world stopped.** Two parts. ``HeapGraphCapture`` reads the graph breadth first
/// from the roots, in steps of a ``StepBudget`` with the world stopped (a million objects take a few
/// hundred steps of a millisecond), into arrays of its own: about 100 bytes per reachable object while
/// the view runs. ``CapturedHeapGraph/retainedSizes()`` then computes the tree (Cooper–Harvey–Kennedy,
/// ``DominatorTree``) over those arrays alone: it reads no heap memory, so it runs with the world
/// going, off the event loop (the server hands it to another thread). A walk in several steps sees
/// references as they were when each object was expanded: exact when nothing changed meanwhile;
/// otherwise each figure is what the object retained in the graph as read. An object that died
/// between two steps keeps the size it had when it was found and retains nothing more.
public struct HeapGraphCapture {
    /// Node 0 is the virtual root; node n > 0 an object found by the walk, in breadth-first order.
    private var successors: [[Int]] = [[]]
    private var sizes: [Int] = [0]
    private var ids: [ObjectID] = [ObjectID(slot: 0, generation: 0)]
    private var types: [Int32] = [-1]
    private var typeNames: [String] = []
    private var typeIndexByName: [String: Int32] = [:]
    /// The node of each slot found so far (-1: none); its id in ``ids`` tells a reused slot apart.
    private var nodeOfSlot = SlotMap<Int32>(count: 0, default: -1)
    /// The next node to expand, and where in its references the walk is (a big one takes several steps).
    private var nextNode = 1
    private var expanding: ReferenceCursor?
    private var started = false

    public init() {}

    /// Reads the graph from where the last step stopped until `budget` is spent (false) or every
    /// reachable object is expanded (true). `external` gives the roots held outside the heap, read
    /// at the first step.
    public mutating func advance(
        in stopped: borrowing StoppedHeap, external: () -> [HeapRoot], budget: inout StepBudget
    ) -> Bool {
        let heap = stopped.heap
        if !started {
            started = true
            nodeOfSlot = SlotMap(count: heap.table.slotsEverUsed, default: -1)
            for root in stopped.roots(adding: external()) {
                if let node = discover(root.ref.slot, in: stopped) { successors[0].append(node) }
            }
        }
        // Invariant: nodes below nextNode are expanded; so are the references of `expanding` (the
        // node nextNode - 1) before its cursor.
        while true {
            if let current = expanding {
                var cursor: ReferenceCursor? = current
                var found: [Int] = []
                let done = stopped.continueReferences(&cursor, budget: &budget) { child in
                    if let node = discover(child, in: stopped) { found.append(node) }
                }
                successors[nextNode - 1] += found
                expanding = cursor
                guard done else { return false }
                continue
            }
            guard nextNode < ids.count else { return true }
            guard budget.spend() else { return false }
            let node = nextNode
            nextNode += 1
            let id = ids[node]
            // An object that died (or whose slot was reused) since it was found has no references.
            guard stopped.liveObject(id.slot) != nil, heap.table.id(of: id.slot) == id else { continue }
            expanding = ReferenceCursor(stopped, id.slot)
        }
    }

    /// The node of the live object in `slot`, found now if it was not yet; nil for the immortal
    /// singletons (not counted, as in `TYPES`) and empty slots.
    private mutating func discover(_ slot: UInt32, in stopped: borrowing StoppedHeap) -> Int? {
        guard slot >= ObjectRef.immortalCount, let object = stopped.liveObject(slot) else { return nil }
        let heap = stopped.heap
        let id = heap.table.id(of: slot)
        let known = nodeOfSlot[slot]
        if known >= 0 && ids[Int(known)] == id { return Int(known) }
        let node = ids.count
        ids.append(id)
        sizes.append(heap.footprint(object))
        types.append(typeIndex(heap.typeName(of: ObjectRef(slot: slot))))
        successors.append([])
        nodeOfSlot[slot] = Int32(node)
        return node
    }

    private mutating func typeIndex(_ name: String) -> Int32 {
        if let index = typeIndexByName[name] { return index }
        let index = Int32(typeNames.count)
        typeNames.append(name)
        typeIndexByName[name] = index
        return index
    }

    /// The graph read so far (all of it once ``advance(in:external:budget:)`` returned true).
    public var graph: CapturedHeapGraph {
        CapturedHeapGraph(successors: successors, sizes: sizes, ids: ids, types: types, typeNames: typeNames)
    }
}

/// The reachable heap as ``HeapGraphCapture`` read it: a value of plain arrays, safe to hand to
/// another thread.
public struct CapturedHeapGraph: Sendable {
    let successors: [[Int]]
    let sizes: [Int]
    let ids: [ObjectID]
    let types: [Int32]
    let typeNames: [String]

    /// Reachable objects in the graph.
    public var objects: Int { ids.count - 1 }

    /// The dominator tree and every object's and type's retained size. Reads no heap memory: runs
    /// with the world going. Linear in the graph but for the tree's iterations (two or three on heap
    /// graphs).
    public func retainedSizes() -> RetainedSizes {
        let tree = DominatorTree(successors: successors, root: 0)
        let retained = tree.retainedSizes(sizes)
        let count = ids.count

        // A type's retained size: the sum over its objects that no proper dominator of the same type
        // has. Depth first over the dominator tree, counting each type's objects on the current path.
        var childStart = [Int](repeating: 0, count: count + 1)
        for node in 1..<count where tree.idom[node] >= 0 { childStart[tree.idom[node] + 1] += 1 }
        for index in 0..<count { childStart[index + 1] += childStart[index] }
        var children = [Int](repeating: 0, count: childStart[count])
        var filled = childStart
        for node in 1..<count where tree.idom[node] >= 0 {
            children[filled[tree.idom[node]]] = node
            filled[tree.idom[node]] += 1
        }
        var onPath = [Int](repeating: 0, count: typeNames.count)
        var byType = [Int](repeating: 0, count: typeNames.count)
        // Invariant: onPath[t] counts the objects of type t among the proper ancestors of the node
        // on top of the stack, and its own when `entered`.
        var stack: [(node: Int, next: Int)] = [(0, childStart[0])]
        while let top = stack.last {
            let (node, next) = top
            if next < childStart[node + 1] {
                stack[stack.count - 1].next += 1
                let child = children[next]
                let type = Int(types[child])
                if onPath[type] == 0 { byType[type] += retained[child] }
                onPath[type] += 1
                stack.append((child, childStart[child]))
            } else {
                stack.removeLast()
                if node != 0 { onPath[Int(types[node])] -= 1 }
            }
        }
        return RetainedSizes(
            ids: ids, retained: retained,
            byType: Dictionary(uniqueKeysWithValues: zip(typeNames, byType)), reachableBytes: retained[0])
    }
}

/// Retained sizes computed from a ``CapturedHeapGraph``.
public struct RetainedSizes: Sendable {
    private let ids: [ObjectID]
    private let retained: [Int]
    /// Each type's retained size (types with no reachable object are absent: 0).
    public let byType: [String: Int]
    /// The bytes of every reachable object.
    public let reachableBytes: Int

    init(ids: [ObjectID], retained: [Int], byType: [String: Int], reachableBytes: Int) {
        self.ids = ids
        self.retained = retained
        self.byType = byType
        self.reachableBytes = reachableBytes
    }

    /// The retained size of each of `wanted`, nil for an object the graph does not hold (unreachable
    /// when read, or made after). One pass over the graph, whatever the number asked for.
    public func retained(of wanted: [ObjectID]) -> [Int?] {
        var position: [ObjectID: Int] = [:]
        for (index, id) in wanted.enumerated() { position[id] = index }
        var result = [Int?](repeating: nil, count: wanted.count)
        for node in 1..<ids.count {
            if let index = position[ids[node]] { result[index] = retained[node] }
        }
        // The same id asked twice: every position gets it.
        for (index, id) in wanted.enumerated() where result[index] == nil {
            if let first = position[id], first != index { result[index] = result[first] }
        }
        return result
    }
}
