/// The heap as a graph of references, for the views that find leaks: which objects the roots reach
/// (`DOCTOR`), a shortest chain of references from a root to an object (objgraph's
/// `find_backref_chain`, `CHAIN`) and the neighbourhood of an object (objgraph's `show_refs` and
/// `show_backrefs`, `GRAPH`).
///
/// Every function here reads object memory without taking object locks: call them inside
/// `gate.exclusive`, when no mutator runs and no object can be freed under the walk. Objects are
/// visited through the handle table's live slots only, so a freed slot is never read.
extension Heap {
    /// The object in `slot` if the slot holds a live object. Caller holds the gate exclusively.
    @inline(__always)
    func liveObjectStopped(_ slot: UInt32) -> ObjectLayout? {
        guard Int(slot) < table.slotsEverUsed, slot < ObjectRef.immortalCount || table.refcount(slot) > 0,
            let address = table.objectIfAny(slot)
        else { return nil }
        return ObjectLayout(address)
    }

    /// The live object an id names, or nil (freed, or never existed). Caller holds the gate exclusively;
    /// the reference is not retained.
    public func liveObjectStopped(_ id: ObjectID) -> ObjectRef? {
        guard let ref = try? acquire(id) else { return nil }
        // The object was alive before the acquire and nothing runs concurrently: this cannot free it.
        release(ref)
        return ref
    }

    /// Calls `body` with each slot `object` references and how it references it (computed only when
    /// asked for: a dict key's repr costs more than the walk). Kinds without finer labels fall back
    /// to ``forEachReference(of:_:)``.
    func forEachLabelledReference(of object: ObjectLayout, _ body: (UInt32, () -> ReferenceLabel) -> Void) {
        switch object.kind {
        case .list, .tuple:
            for (index, item) in object.sequenceItems.enumerated() { body(item, { .index(index) }) }
        case .dict:
            guard let storage = object.hashStorage else { return }
            HashStorage(base: storage).forEach { key, value in
                let keyText = { self.shortRepr(ObjectRef(slot: key), limit: 40) }
                body(key, { .key(keyText()) })
                if value != HashStorage.noValue { body(value, { .value(key: keyText()) }) }
            }
        case .set:
            guard let storage = object.hashStorage else { return }
            HashStorage(base: storage).forEach { key, _ in body(key, { .element }) }
        case .object:
            body(object.className, { .instanceClass })
            guard let storage = object.hashStorage else { return }
            HashStorage(base: storage).forEach { key, value in
                let name = { String(decoding: self.layout(key).bytes, as: UTF8.self) }
                body(key, { .attributeName(name()) })
                if value != HashStorage.noValue { body(value, { .attribute(name()) }) }
            }
        default:
            forEachReference(of: object) { body($0, { .referent }) }
        }
    }

    /// `repr(x)` one level deep, cut to about `limit` characters: a label, not a dump.
    func shortRepr(_ ref: ObjectRef, limit: Int) -> String {
        let text = repr(ref, maxDepth: 1, maxItems: 4)
        guard text.count > limit else { return text }
        return String(text.prefix(limit)) + "..."
    }

    // MARK: - Reachability

    /// A breadth-first walk from the roots: for every slot, whether it was reached and from where.
    struct ReachabilityWalk {
        static let noParent = UInt32.max
        /// Indexed by slot.
        var reached: [Bool]
        /// The slot each reached object was first reached from (``noParent`` for a root's object).
        var parent: [UInt32]
        /// For a root's object, the index of the first root holding it; -1 otherwise.
        var rootIndex: [Int32]
    }

    /// Walks from `roots` (in order: the first root to reach an object is the one recorded), breadth
    /// first, so each recorded parent lies on a shortest path. Stops early once `target` is reached.
    /// Caller holds the gate exclusively.
    func reachabilityStopped(from roots: [HeapRoot], stoppingAt target: UInt32? = nil) -> ReachabilityWalk {
        let slotCount = table.slotsEverUsed
        var walk = ReachabilityWalk(
            reached: [Bool](repeating: false, count: slotCount),
            parent: [UInt32](repeating: ReachabilityWalk.noParent, count: slotCount),
            rootIndex: [Int32](repeating: -1, count: slotCount))
        var queue: [UInt32] = []
        for (index, root) in roots.enumerated() where Int(root.ref.slot) < slotCount {
            guard !walk.reached[Int(root.ref.slot)] else { continue }
            walk.reached[Int(root.ref.slot)] = true
            walk.rootIndex[Int(root.ref.slot)] = Int32(index)
            queue.append(root.ref.slot)
        }
        if let target, Int(target) < slotCount, walk.reached[Int(target)] { return walk }
        // Invariant: every slot in queue[head...] is reached, live, and not yet expanded.
        var head = 0
        while head < queue.count {
            let slot = queue[head]
            head += 1
            guard let object = liveObjectStopped(slot), object.kind.isContainer else { continue }
            var found = false
            forEachReference(of: object) { child in
                guard Int(child) < slotCount, !walk.reached[Int(child)] else { return }
                walk.reached[Int(child)] = true
                walk.parent[Int(child)] = slot
                queue.append(child)
                if child == target { found = true }
            }
            if found { break }
        }
        return walk
    }

    // MARK: - CHAIN

    /// A shortest chain of references from a root to `target` (objgraph's `find_backref_chain`), or nil
    /// when no root reaches it: it is garbage waiting for a collection. Caller holds the gate exclusively.
    public func shortestChainStopped(to target: ObjectRef, roots: [HeapRoot]) -> ReferenceChain? {
        let walk = reachabilityStopped(from: roots, stoppingAt: target.slot)
        guard Int(target.slot) < walk.reached.count, walk.reached[Int(target.slot)] else { return nil }
        var slots: [UInt32] = [target.slot]
        while walk.parent[Int(slots[slots.count - 1])] != ReachabilityWalk.noParent {
            slots.append(walk.parent[Int(slots[slots.count - 1])])
        }
        slots.reverse()
        let root = roots[Int(walk.rootIndex[Int(slots[0])])]
        var steps = [step(slots[0], how: root.label)]
        for (parent, child) in zip(slots, slots.dropFirst()) {
            var label = ReferenceLabel.referent
            var found = false
            forEachLabelledReference(of: layout(parent)) { slot, makeLabel in
                guard !found, slot == child else { return }
                found = true
                label = makeLabel()
            }
            steps.append(step(child, how: label.description))
        }
        return ReferenceChain(steps: steps)
    }

    private func step(_ slot: UInt32, how: String) -> ReferenceChain.Step {
        let ref = ObjectRef(slot: slot)
        return ReferenceChain.Step(how: how, typeName: typeName(of: ref), id: id(of: ref))
    }

    // MARK: - GRAPH

    /// The neighbourhood of `target`: what it references (or, with `referrers`, what references it),
    /// breadth first to `depth` levels and at most `maxNodes` objects, with every reference among the
    /// objects drawn, the roots that hold any of them, and for each whether a root reaches it. An
    /// instance's class-name and attribute-name strs are not followed (they would hang off every
    /// instance). Caller holds the gate exclusively.
    public func referenceGraphStopped(
        around target: ObjectRef, depth: Int, referrers: Bool, maxNodes: Int, roots: [HeapRoot]
    ) -> ReferenceGraph {
        var order: [UInt32] = [target.slot]
        var included: Set<UInt32> = [target.slot]
        var leftOut: Set<UInt32> = []
        var frontier: [UInt32] = [target.slot]
        func include(_ slot: UInt32, into next: inout [UInt32]) {
            guard !included.contains(slot) else { return }
            guard order.count < maxNodes else {
                leftOut.insert(slot)
                return
            }
            included.insert(slot)
            order.append(slot)
            next.append(slot)
        }
        var level = 0
        while level < depth && !frontier.isEmpty {
            level += 1
            var next: [UInt32] = []
            if referrers {
                let wanted = Set(frontier)
                for slot in UInt32(ObjectRef.immortalCount)..<UInt32(table.slotsEverUsed) {
                    guard let object = liveObjectStopped(slot), object.kind.isContainer else { continue }
                    var refers = false
                    forEachReference(of: object) { if wanted.contains($0) { refers = true } }
                    if refers { include(slot, into: &next) }
                }
            } else {
                for slot in frontier {
                    guard let object = liveObjectStopped(slot), object.kind.isContainer else { continue }
                    guard object.kind == .object else {
                        forEachReference(of: object) { include($0, into: &next) }
                        continue
                    }
                    // An instance's names (its class name, its attribute names) are strs that would
                    // hang off every instance: only the attribute values are followed.
                    guard let storage = object.hashStorage else { continue }
                    HashStorage(base: storage).forEach { _, value in
                        if value != HashStorage.noValue { include(value, into: &next) }
                    }
                }
            }
            frontier = next
        }

        let walk = reachabilityStopped(from: roots)
        var graph = ReferenceGraph(truncated: leftOut.count)
        for slot in order {
            let ref = ObjectRef(slot: slot)
            let object = layout(slot)
            let state: ReferenceGraph.CollectorState =
                !object.kind.isContainer || !object.isTracked
                ? .untracked
                : object.generation == GenerationLists.permanent ? .frozen : .generation(object.generation)
            graph.nodes.append(
                ReferenceGraph.Node(
                    id: id(of: ref), typeName: typeName(of: ref), refcount: refcount(of: ref), state: state,
                    repr: shortRepr(ref, limit: 40), reachable: walk.reached[Int(slot)]))
            guard object.kind.isContainer else { continue }
            forEachLabelledReference(of: object) { child, makeLabel in
                guard included.contains(child) else { return }
                graph.edges.append(
                    ReferenceGraph.Edge(
                        from: id(of: ref), to: id(of: ObjectRef(slot: child)), label: makeLabel().description))
            }
        }
        for root in roots where included.contains(root.ref.slot) {
            graph.roots.append(ReferenceGraph.RootEdge(label: root.label, to: id(of: root.ref)))
        }
        return graph
    }
}

/// A shortest chain of references from a root to an object, root first.
public struct ReferenceChain: Sendable, Equatable {
    /// One object of the chain and how it was reached: the root's label for the first step, else the
    /// label of the reference from the previous step (`[3]`, `['key']`, `.attr`).
    public struct Step: Sendable, Equatable {
        public let how: String
        public let typeName: String
        public let id: ObjectID
    }

    public let steps: [Step]
}

/// The neighbourhood of one object: nodes, the references among them and the roots holding them.
public struct ReferenceGraph: Sendable {
    /// Where the cycle collector keeps an object.
    public enum CollectorState: Sendable, Equatable, CustomStringConvertible {
        case generation(Int)
        /// In the permanent generation (`GC FREEZE`).
        case frozen
        /// Not tracked: atoms, and dicts and tuples the collector untracked.
        case untracked

        public var description: String {
            switch self {
            case .generation(let generation): "gen\(generation)"
            case .frozen: "frozen"
            case .untracked: "untracked"
            }
        }
    }

    public struct Node: Sendable {
        public let id: ObjectID
        public let typeName: String
        /// The raw reference count (`REFCOUNT`).
        public let refcount: Int
        public let state: CollectorState
        public let repr: String
        /// Whether any root reaches it; an object no root reaches is garbage waiting for a collection.
        public let reachable: Bool
    }

    public struct Edge: Sendable {
        public let from: ObjectID
        public let to: ObjectID
        public let label: String
    }

    /// A root that holds one of the nodes directly.
    public struct RootEdge: Sendable {
        public let label: String
        public let to: ObjectID
    }

    /// The first node is the object the graph is drawn around.
    public var nodes: [Node] = []
    public var edges: [Edge] = []
    public var roots: [RootEdge] = []
    /// Objects found but left out because the graph reached its node limit.
    public var truncated: Int

    init(truncated: Int) {
        self.truncated = truncated
    }
}
