/// The heap as a graph of references, for the views that find leaks: which objects the roots reach
/// (`DOCTOR`), a shortest chain of references from a root to an object (objgraph's
/// `find_backref_chain`, `CHAIN`) and the neighbourhood of an object (objgraph's `show_refs` and
/// `show_backrefs`, `GRAPH`).
///
/// Every function here reads object memory without taking object locks, so each takes a
/// ``StoppedHeap``: no mutator runs and no object can be freed under the walk. Objects are
/// visited through the handle table's live slots only, so a freed slot is never read.
///
/// **Walking in steps.** A walk over ten million objects takes a second; with the world stopped for
/// all of it, every client would wait a second. So each walk here is a value that does as much as a
/// ``StepBudget`` allows and keeps its place (a queue, a slot cursor): the server stops the world, runs
/// one step of about a millisecond, lets the world go, and repeats. Between two steps clients run and
/// change references, so a walk done in several steps is exact only for the references that did not
/// change meanwhile. What each view promises then is written where it is built (``ChainSearch``,
/// ``ReferenceGraphBuilder``, ``Diagnosis``) and in protocol.md. Slots examined in an earlier step
/// may hold another object by a later one: whatever a walk reports about an object is checked against
/// its id when the object is read, and an object that died in between is left out.
extension StoppedHeap {
    /// The object in `slot` if the slot holds a live object.
    @inline(__always)
    func liveObject(_ slot: UInt32) -> ObjectLayout? {
        let table = heap.table
        guard Int(slot) < table.slotsEverUsed, slot < ObjectRef.immortalCount || table.refcount(slot) > 0,
            let address = table.objectIfAny(slot)
        else { return nil }
        return ObjectLayout(address)
    }

    /// The live object an id names, or nil (freed, or never existed); the reference is not retained.
    public func liveObject(_ id: ObjectID) -> ObjectRef? {
        guard let ref = try? heap.acquire(id) else { return nil }
        // The object was alive before the acquire and nothing runs concurrently: this cannot free it.
        heap.release(ref)
        return ref
    }

    /// The id of the object in `slot` if it is alive.
    func liveID(_ slot: UInt32) -> ObjectID? {
        liveObject(slot) == nil ? nil : heap.table.id(of: slot)
    }

    /// Calls `body` with the references of the cursor's object from the cursor's position on, a chunk at
    /// a time, until they are all visited (returns true; the cursor is then nil) or `budget` is spent
    /// (false; the cursor says where to go on). A list of ten million items is so visited over several
    /// steps. If the object died or its slot holds another object by the time the walk goes on, the
    /// rest of its references are skipped.
    func continueReferences(_ cursor: inout ReferenceCursor?, budget: inout StepBudget, _ body: (UInt32) -> Void)
        -> Bool
    {
        let heap = heap
        while let current = cursor {
            guard let object = liveObject(current.slot), heap.table.id(of: current.slot) == current.id else {
                cursor = nil
                return true
            }
            var visited = 0
            let next = heap.forEachReference(of: object, from: current.position, limit: ReferenceCursor.chunk) {
                visited += 1
                body($0)
            }
            cursor = next.map { ReferenceCursor(slot: current.slot, id: current.id, position: $0) }
            guard budget.spend(visited + 1) else { return cursor == nil }
        }
        return true
    }
}

extension Heap {

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

    /// Calls `body` with the references of `object` from position `start`, about `limit` of them;
    /// returns the position to go on from, or nil once every reference was visited. A position is an
    /// item of a list or tuple, an entry of a dict, set or instance (with both its key and value; an
    /// instance's position 0 is its class name), so positions stay meaningful while the object only
    /// grows; a generator has one reference.
    func forEachReference(of object: ObjectLayout, from start: Int, limit: Int, _ body: (UInt32) -> Void) -> Int? {
        switch object.kind {
        case .list, .tuple:
            let items = object.sequenceItems
            let end = min(items.count, start + limit)
            var index = start
            while index < end {
                body(items[index])
                index += 1
            }
            return end < items.count ? end : nil
        case .dict, .set, .object:
            var position = start
            if object.kind == .object && position == 0 {
                body(object.className)
                position = 1
            }
            // An instance's entries start at position 1.
            let offset = object.kind == .object ? 1 : 0
            guard let storage = object.hashStorage else { return nil }
            let table = HashStorage(base: storage)
            let first = position - offset
            let end = min(table.used, first + limit)
            var entry = first
            while entry < end {
                let key = table.key(at: entry)
                if key != HashStorage.deletedKey {
                    body(key)
                    let value = table.value(at: entry)
                    if value != HashStorage.noValue { body(value) }
                }
                entry += 1
            }
            return end < table.used ? end + offset : nil
        default:
            if start == 0 { forEachReference(of: object, body) }
            return nil
        }
    }
}

/// Where a walk is in the references of one object: its slot, its id (to notice the slot's reuse) and
/// a position (``Heap/forEachReference(of:from:limit:_:)``).
struct ReferenceCursor {
    /// References visited per chunk: a few microseconds of work.
    static let chunk = 1024

    let slot: UInt32
    let id: ObjectID
    let position: Int

    /// A cursor at the first reference of the container in `slot`, or nil if it holds no live container.
    init?(_ stopped: borrowing StoppedHeap, _ slot: UInt32) {
        guard let object = stopped.liveObject(slot), object.kind.isContainer else { return nil }
        self.init(slot: slot, id: stopped.heap.table.id(of: slot), position: 0)
    }

    init(slot: UInt32, id: ObjectID, position: Int) {
        self.slot = slot
        self.id = id
        self.position = position
    }
}

// MARK: - Reachability

/// A breadth-first walk from the roots: for every slot, whether it was reached and from where. Done in
/// steps (``advance(in:budget:)``); each step expands whole objects.
struct ReachabilityWalk {
    static let noParent = UInt32.max
    /// Indexed by slot (the slots in use when the walk started; later ones are never reached).
    private(set) var reached: SlotMap<Bool>
    /// The slot each reached object was first reached from (``noParent`` for a root's object).
    private(set) var parent: SlotMap<UInt32>
    /// For a root's object, the index of the first root holding it.
    private(set) var rootIndex: [UInt32: Int] = [:]
    /// Reached and not yet expanded: `queue[head...]`.
    private var queue: [UInt32] = []
    private var head = 0
    /// The object being expanded (a big one takes several steps).
    private var expanding: ReferenceCursor?
    private let target: UInt32?
    /// Whether the walk reached `target`.
    private(set) var foundTarget = false
    /// How many steps the walk took so far.
    private(set) var steps = 0

    /// Starts a walk from `roots` (in order: the first root to reach an object is the one recorded),
    /// breadth first, so each recorded parent lies on a shortest path; it ends early once `target` is
    /// reached.
    init(_ stopped: borrowing StoppedHeap, from roots: [HeapRoot], stoppingAt target: UInt32? = nil) {
        let slotCount = stopped.heap.table.slotsEverUsed
        reached = SlotMap(count: slotCount, default: false)
        parent = SlotMap(count: slotCount, default: Self.noParent)
        self.target = target
        for (index, root) in roots.enumerated() where Int(root.ref.slot) < slotCount {
            guard !reached[root.ref.slot] else { continue }
            reached[root.ref.slot] = true
            rootIndex[root.ref.slot] = index
            queue.append(root.ref.slot)
        }
        if let target, Int(target) < slotCount, reached[target] { foundTarget = true }
    }

    /// Expands reached objects until `budget` is spent (false) or the walk is done (true).
    mutating func advance(in stopped: borrowing StoppedHeap, budget: inout StepBudget) -> Bool {
        steps += 1
        let slotCount = reached.count
        // Invariant: every slot in queue[head...] is reached and not yet expanded; so is the object
        // being expanded, whose references before its cursor are reached.
        while !foundTarget {
            if let current = expanding {
                var cursor: ReferenceCursor? = current
                let slot = current.slot
                var found = false
                let done = stopped.continueReferences(&cursor, budget: &budget) { child in
                    guard Int(child) < slotCount, !reached[child] else { return }
                    reached[child] = true
                    parent[child] = slot
                    queue.append(child)
                    if child == target { found = true }
                }
                expanding = cursor
                foundTarget = found
                guard done || found else { return false }
                continue
            }
            guard head < queue.count else { break }
            guard budget.spend() else { return false }
            let slot = queue[head]
            head += 1
            expanding = ReferenceCursor(stopped, slot)
        }
        expanding = nil
        queue = []
        head = 0
        return true
    }

    /// Whether `slot` was reached.
    func isReached(_ slot: UInt32) -> Bool { reached[slot] }
}

extension StoppedHeap {
    /// Which slots `roots` reach, in one go.
    func reachability(from roots: [HeapRoot], stoppingAt target: UInt32? = nil) -> ReachabilityWalk {
        var walk = ReachabilityWalk(self, from: roots, stoppingAt: target)
        var budget = StepBudget.unlimited
        _ = walk.advance(in: self, budget: &budget)
        return walk
    }
}

// MARK: - CHAIN

/// `CHAIN`: a shortest chain of references from a root to an object (objgraph's `find_backref_chain`),
/// found by a breadth-first walk in steps.
///
/// When the walk has reached the object, the chain is read back and **checked in one step**: the
/// object it starts from is still held by a root, and every link still exists. So a chain this returns
/// existed, all of it, at one moment (the last step); it is a shortest one if the references did not
/// change during the walk. If a link broke meanwhile, the walk starts again, up to ``attempts`` times.
/// "No chain" means that no reference the walk followed led to the object: exact when the walk took one
/// step or nothing changed meanwhile.
public struct ChainSearch {
    public enum Outcome: Sendable, Equatable {
        case chain(ReferenceChain)
        /// No root reaches the object: it is garbage waiting for a collection.
        case unreachable
        /// The object died (or never existed).
        case gone
        /// The shortest chain found has this many steps, more than allowed.
        case tooLong(Int)
        /// The references changed under every attempt.
        case unstable(attempts: Int)
    }

    /// Walks started before the search gives up on a heap whose references keep changing.
    public static let attempts = 3

    private let target: ObjectID
    private let maxSteps: Int
    private var walk: ReachabilityWalk?
    private var roots: [HeapRoot] = []
    private var tries = 0

    /// A search for a chain to `target` of at most `maxSteps` steps (the root's step included).
    public init(to target: ObjectID, maxSteps: Int) {
        self.target = target
        self.maxSteps = maxSteps
    }

    /// One step: nil while the walk goes on. `external` gives the roots held outside the heap (the
    /// server's variables and globals), read at the start of each walk and again to check the chain.
    public mutating func advance(
        in stopped: borrowing StoppedHeap, external: () -> [HeapRoot], budget: inout StepBudget
    )
        -> Outcome?
    {
        guard let targetRef = stopped.liveObject(target) else { return .gone }
        if walk == nil {
            tries += 1
            roots = stopped.roots(adding: external())
            walk = ReachabilityWalk(stopped, from: roots, stoppingAt: targetRef.slot)
        }
        guard walk!.advance(in: stopped, budget: &budget) else { return nil }
        let walk = self.walk!
        self.walk = nil
        guard walk.isReached(targetRef.slot) else { return .unreachable }
        var slots: [UInt32] = [targetRef.slot]
        while walk.parent[slots[slots.count - 1]] != ReachabilityWalk.noParent {
            slots.append(walk.parent[slots[slots.count - 1]])
            if slots.count > maxSteps {
                // The rest of the length is counted, not kept.
                var length = slots.count
                var slot = slots[slots.count - 1]
                while walk.parent[slot] != ReachabilityWalk.noParent {
                    slot = walk.parent[slot]
                    length += 1
                }
                return .tooLong(length)
            }
        }
        slots.reverse()
        if let chain = Self.checkedChain(stopped, slots, root: roots[walk.rootIndex[slots[0]] ?? 0], external) {
            return .chain(chain)
        }
        return tries >= Self.attempts ? .unstable(attempts: tries) : nil
    }

    /// The chain along `slots` (root's object first) if it exists now: a root still holds the first
    /// object (the walk's root if it still does, else the first that does) and every link is a reference.
    private static func checkedChain(
        _ stopped: borrowing StoppedHeap, _ slots: [UInt32], root walkRoot: HeapRoot, _ external: () -> [HeapRoot]
    )
        -> ReferenceChain?
    {
        let heap = stopped.heap
        let current = stopped.roots(adding: external())
        guard
            let root = current.first(where: { $0 == walkRoot })
                ?? current.first(where: { $0.ref.slot == slots[0] })
        else { return nil }
        guard stopped.liveObject(slots[0]) != nil else { return nil }
        var steps = [step(stopped, slots[0], how: root.label)]
        for (parent, child) in zip(slots, slots.dropFirst()) {
            guard let object = stopped.liveObject(parent), stopped.liveObject(child) != nil else { return nil }
            var label: ReferenceLabel?
            heap.forEachLabelledReference(of: object) { slot, makeLabel in
                guard label == nil, slot == child else { return }
                label = makeLabel()
            }
            guard let label else { return nil }
            steps.append(step(stopped, child, how: label.description))
        }
        return ReferenceChain(steps: steps)
    }

    private static func step(_ stopped: borrowing StoppedHeap, _ slot: UInt32, how: String) -> ReferenceChain.Step {
        let heap = stopped.heap
        let ref = ObjectRef(slot: slot)
        return ReferenceChain.Step(how: how, typeName: heap.typeName(of: ref), id: heap.id(of: ref))
    }
}

// MARK: - GRAPH

/// `GRAPH`: the neighbourhood of an object, built in steps: what it references (or, with `referrers`,
/// what references it), breadth first to `depth` levels and at most `maxNodes` objects, with every
/// reference among the objects drawn, the roots that hold any of them, and for each whether a root
/// reaches it. An instance's class-name and attribute-name strs are not followed (they would hang off
/// every instance).
///
/// Three phases, each in as many steps as it needs: the neighbourhood (a level of `BACKREFS` examines
/// every object), the reachability walk from the roots, then the drawing (each node with its
/// references, repr and counts as they are at the step that draws it; a node that died since it was
/// found is left out, with its edges).
public struct ReferenceGraphBuilder {
    public enum Outcome: Sendable {
        case graph(ReferenceGraph)
        /// The object the graph is drawn around died (or never existed).
        case gone
    }

    private enum Phase {
        /// Finding the objects: `level` levels done, `frontier` the last level's objects, `position` an
        /// index into it (forward) or a slot (backrefs).
        case neighbourhood
        case reachability
        /// Drawing `order[position...]`.
        case drawing
    }

    private let target: ObjectID
    private let depth: Int
    private let referrers: Bool
    private let maxNodes: Int
    private var phase = Phase.neighbourhood
    private var started = false
    /// The objects found, in order, with their ids when found.
    private var order: [(slot: UInt32, id: ObjectID)] = []
    private var included: Set<UInt32> = []
    private var leftOut: Set<UInt32> = []
    private var frontier: [UInt32] = []
    private var wanted: Set<UInt32> = []
    private var next: [UInt32] = []
    private var level = 0
    private var position = 0
    /// The object whose references are being looked at (a big one takes several steps), and for
    /// `BACKREFS` whether one of them was wanted.
    private var scanning: ReferenceCursor?
    private var scanningRefers = false
    private var roots: [HeapRoot] = []
    /// A stored property, not a payload of `phase`: mutated in place, never copied (it is as big as
    /// the handle table).
    private var walk: ReachabilityWalk?
    private var graph = ReferenceGraph(truncated: 0)
    /// The ids of the nodes drawn so far.
    private var drawnIDs: Set<ObjectID> = []

    public init(around target: ObjectID, depth: Int, referrers: Bool, maxNodes: Int) {
        self.target = target
        self.depth = depth
        self.referrers = referrers
        self.maxNodes = maxNodes
    }

    /// One step: nil while the graph is being built. `external` gives the roots held outside the heap,
    /// read once.
    public mutating func advance(
        in stopped: borrowing StoppedHeap, external: () -> [HeapRoot], budget: inout StepBudget
    )
        -> Outcome?
    {
        let heap = stopped.heap
        guard let targetRef = stopped.liveObject(target) else { return .gone }
        if !started {
            started = true
            order = [(targetRef.slot, target)]
            included = [targetRef.slot]
            frontier = [targetRef.slot]
            wanted = [targetRef.slot]
            roots = stopped.roots(adding: external())
        }
        while true {
            switch phase {
            case .neighbourhood:
                guard findNeighbourhood(stopped, budget: &budget) else { return nil }
                walk = ReachabilityWalk(stopped, from: roots)
                phase = .reachability
            case .reachability:
                guard walk!.advance(in: stopped, budget: &budget) else { return nil }
                position = 0
                phase = .drawing
            case .drawing:
                while position < order.count {
                    guard budget.spend() else { return nil }
                    draw(order[position], stopped)
                    position += 1
                }
                graph.edges.removeAll { edge in !drawnIDs.contains(edge.to) }
                // The roots as they are now: a variable rebound during the walk shows as it is.
                for root in stopped.roots(adding: external()) where drawnIDs.contains(heap.id(of: root.ref)) {
                    graph.roots.append(ReferenceGraph.RootEdge(label: root.label, to: heap.id(of: root.ref)))
                }
                graph.truncated = leftOut.count
                return .graph(graph)
            }
        }
    }

    /// Adds the next levels' objects until `budget` is spent (false) or `depth` levels are done.
    private mutating func findNeighbourhood(_ stopped: borrowing StoppedHeap, budget: inout StepBudget) -> Bool {
        while level < depth && !frontier.isEmpty {
            guard referrers ? findReferrers(stopped, budget: &budget) : findReferents(stopped, budget: &budget) else {
                return false
            }
            level += 1
            frontier = next
            wanted = Set(next)
            next = []
            position = 0
        }
        return true
    }

    /// One level of `BACKREFS`: every container that references an object of the frontier, by a scan
    /// of every slot from `position` (a big container over several steps).
    private mutating func findReferrers(_ stopped: borrowing StoppedHeap, budget: inout StepBudget) -> Bool {
        let heap = stopped.heap
        let end = heap.table.slotsEverUsed
        position = max(position, Int(ObjectRef.immortalCount))
        while true {
            if let current = scanning {
                var cursor: ReferenceCursor? = current
                var refers = scanningRefers
                let wanted = self.wanted
                let done = stopped.continueReferences(&cursor, budget: &budget) {
                    if wanted.contains($0) { refers = true }
                }
                scanning = cursor
                scanningRefers = refers
                guard done else { return false }
                if refers { include(current.slot, stopped) }
                scanningRefers = false
                continue
            }
            guard position < end else { return true }
            guard budget.spend() else { return false }
            scanning = ReferenceCursor(stopped, UInt32(position))
            position += 1
        }
    }

    /// One level of referents: what the frontier's objects reference, from `frontier[position]` on.
    private mutating func findReferents(_ stopped: borrowing StoppedHeap, budget: inout StepBudget) -> Bool {
        while true {
            if let current = scanning {
                var cursor: ReferenceCursor? = current
                var found: [UInt32] = []
                let done = stopped.continueReferences(&cursor, budget: &budget) { found.append($0) }
                scanning = cursor
                for slot in found { include(slot, stopped) }
                guard done else { return false }
                continue
            }
            guard position < frontier.count else { return true }
            guard budget.spend() else { return false }
            let slot = frontier[position]
            position += 1
            guard let object = stopped.liveObject(slot), object.kind.isContainer else { continue }
            guard object.kind == .object else {
                scanning = ReferenceCursor(stopped, slot)
                continue
            }
            // An instance's names (its class name, its attribute names) are strs that would hang off
            // every instance: only the attribute values are followed.
            guard let storage = object.hashStorage else { continue }
            var values: [UInt32] = []
            HashStorage(base: storage).forEach { _, value in
                if value != HashStorage.noValue { values.append(value) }
            }
            _ = budget.spend(values.count)
            for value in values { include(value, stopped) }
        }
    }

    private mutating func include(_ slot: UInt32, _ stopped: borrowing StoppedHeap) {
        guard !included.contains(slot), let id = stopped.liveID(slot) else { return }
        guard order.count < maxNodes else {
            leftOut.insert(slot)
            return
        }
        included.insert(slot)
        order.append((slot, id))
        next.append(slot)
    }

    /// Draws one node and its references to the nodes found, if it is still the object that was found.
    private mutating func draw(_ node: (slot: UInt32, id: ObjectID), _ stopped: borrowing StoppedHeap) {
        let heap = stopped.heap
        guard let object = stopped.liveObject(node.slot), heap.id(of: ObjectRef(slot: node.slot)) == node.id
        else { return }
        let ref = ObjectRef(slot: node.slot)
        let state: ReferenceGraph.CollectorState =
            !object.kind.isContainer || !object.isTracked
            ? .untracked
            : object.generation == GenerationLists.permanent ? .frozen : .generation(object.generation)
        graph.nodes.append(
            ReferenceGraph.Node(
                id: node.id, typeName: heap.typeName(of: ref), refcount: heap.refcount(of: ref), state: state,
                repr: heap.shortRepr(ref, limit: 40), reachable: walk!.isReached(node.slot)))
        drawnIDs.insert(node.id)
        guard object.kind.isContainer else { return }
        heap.forEachLabelledReference(of: object) { child, makeLabel in
            guard included.contains(child), stopped.liveObject(child) != nil else { return }
            graph.edges.append(
                ReferenceGraph.Edge(
                    from: node.id, to: heap.id(of: ObjectRef(slot: child)), label: makeLabel().description))
        }
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
