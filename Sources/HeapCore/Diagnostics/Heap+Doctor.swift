/// `DOCTOR`: the heap examined for the usual ways memory leaks in a Python program, reported as
/// ``MemoryFinding``s.
///
/// Two walks over the references, both with the world stopped:
///
/// - **Reachability** from every root (variables, globals, gc.garbage). A live object no root reaches
///   is cyclic garbage: only reference cycles keep it alive, and a collection frees it. The cycles are
///   the strongly connected components of the unreachable objects (Tarjan's algorithm, iterative so
///   that a long chain cannot overflow the stack).
/// - **Ownership**: which objects a single global (or gc.garbage as a whole) keeps alive on its own,
///   like a dominator tree with the roots grouped. Objects the session variables reach are shared;
///   then each group walks from its roots and claims what is unclaimed; an object a second group
///   reaches becomes shared, with everything below it. Each object changes state at most three times
///   (unclaimed, claimed, shared), so the whole walk is linear.
///
/// Both walks, and the scans between them, keep their place in explicit work lists, so ``Diagnosis``
/// runs in steps of a ``StepBudget`` with the world let go in between (see Heap+ReferenceGraph.swift).
/// Done in one step, the report describes the heap at that moment. Done in several, each object is
/// judged by the references the walks followed: when no reference changed during the examination (a
/// heap nobody changes, or one whose changes do not touch the garbage), the report is the one a
/// single stop would give; otherwise an object whose references moved while the walk ran may be
/// counted on the wrong side, as garbage or as owned. Objects are never counted twice, and one that
/// died during the examination (a collection ran) is left out of what is counted after its death.
public struct DoctorLimits: Sendable {
    /// A global is reported when what it alone keeps alive reaches either figure, or is more than
    /// half the heap's bytes (and at least ``bigGlobalShareFloor``): a fixed figure alone missed the
    /// leak of a small heap (a cache holding 982 of its 985 KiB).
    public var bigGlobalBytes = 1 << 20
    public var bigGlobalObjects = 10_000
    /// Below this, a global holding most of a tiny heap (a test's three lists) is not news.
    public var bigGlobalShareFloor = 64 << 10
    /// How many cycles, and objects in each list, a report names.
    public var cyclesShown = 5
    public var objectsShown = 5

    public init() {}
}

extension StoppedHeap {
    /// Examines the heap in one go; `external` are the variables and globals (gc.garbage is added
    /// here).
    public func diagnose(roots external: [HeapRoot], limits: DoctorLimits = DoctorLimits()) -> MemoryReport {
        var diagnosis = Diagnosis(limits: limits)
        var budget = StepBudget.unlimited
        while true {
            if let report = diagnosis.advance(in: self, external: { external }, budget: &budget) {
                return report
            }
        }
    }
}

extension Heap {
    fileprivate func summary(_ slot: UInt32) -> ObjectSummary {
        let ref = ObjectRef(slot: slot)
        return ObjectSummary(typeName: typeName(of: ref), id: id(of: ref))
    }
}

/// `DOCTOR` in progress: its phases in order, each resumable.
public struct Diagnosis {
    private enum Phase {
        case start
        case reachability
        /// Scanning the slots for live objects the walk did not reach, from `position`.
        case unreachable
        case cycles
        case ownership
        /// Summing what each group owns, from `position`.
        case sizes
    }

    private let limits: DoctorLimits
    private var phase = Phase.start
    private var position = 0
    private var roots: [HeapRoot] = []
    private var walk: ReachabilityWalk?
    private var unreachable: [UInt32] = []
    private var garbageBytes = 0
    private var legacy: [ObjectSummary] = []
    private var cycles = CycleFinder(slotCount: 0)
    private var ownership = OwnershipWalk(slotCount: 0, shared: [], groups: [])
    private var sizes: [(objects: Int, bytes: Int)] = []
    /// The bytes of every live object the size scan saw, owned or not: "the heap" of the share rule.
    private var heapBytes = 0
    private var globals: [HeapRoot] = []
    private var garbageList: [HeapRoot] = []

    public init(limits: DoctorLimits = DoctorLimits()) {
        self.limits = limits
    }

    /// One step: nil while the examination goes on, then the report. `external` gives the roots held
    /// outside the heap (the server's variables and globals), read at the first step.
    public mutating func advance(
        in stopped: borrowing StoppedHeap, external: () -> [HeapRoot], budget: inout StepBudget
    )
        -> MemoryReport?
    {
        while true {
            switch phase {
            case .start:
                roots = stopped.roots(adding: external())
                walk = ReachabilityWalk(stopped, from: roots)
                phase = .reachability
            case .reachability:
                guard walk!.advance(in: stopped, budget: &budget) else { return nil }
                position = Int(ObjectRef.immortalCount)
                phase = .unreachable
            case .unreachable:
                guard scanUnreachable(stopped, budget: &budget) else { return nil }
                cycles = CycleFinder(slotCount: walk!.reached.count)
                phase = .cycles
            case .cycles:
                guard
                    cycles.advance(
                        in: stopped, unreachable: unreachable, walk: walk!, limits: limits, budget: &budget)
                else { return nil }
                // Ownership: group 0 is gc.garbage, groups 1... the globals.
                globals = roots.filter { $0.holder == .global }
                garbageList = roots.filter { $0.holder == .garbageList }
                let groups = [garbageList.map(\.ref.slot)] + globals.map { [$0.ref.slot] }
                ownership = OwnershipWalk(
                    slotCount: walk!.reached.count, shared: roots.filter { $0.holder == .variable }.map(\.ref.slot),
                    groups: groups)
                walk = nil
                phase = .ownership
            case .ownership:
                guard ownership.advance(in: stopped, budget: &budget) else { return nil }
                sizes = Array(repeating: (0, 0), count: ownership.groupCount)
                position = Int(ObjectRef.immortalCount)
                phase = .sizes
            case .sizes:
                guard sumSizes(stopped, budget: &budget) else { return nil }
                return report(stopped)
            }
        }
    }

    private mutating func scanUnreachable(_ stopped: borrowing StoppedHeap, budget: inout StepBudget) -> Bool {
        let heap = stopped.heap
        let walk = walk!
        while position < walk.reached.count {
            guard budget.spend() else { return false }
            let slot = UInt32(position)
            position += 1
            guard !walk.reached[slot], let object = stopped.liveObject(slot) else { continue }
            unreachable.append(slot)
            garbageBytes += stopped.footprint(object)
            if object.hasFlag(ObjectLayout.legacyFinalizerFlag) { legacy.append(heap.summary(slot)) }
        }
        return true
    }

    private mutating func sumSizes(_ stopped: borrowing StoppedHeap, budget: inout StepBudget) -> Bool {
        while position < ownership.owner.count {
            guard budget.spend() else { return false }
            let slot = position
            position += 1
            guard let object = stopped.liveObject(UInt32(slot)) else { continue }
            let bytes = stopped.footprint(object)
            heapBytes += bytes
            let group = ownership.owner[slot]
            guard group >= 0 else { continue }
            sizes[Int(group)].objects += 1
            sizes[Int(group)].bytes += bytes
        }
        return true
    }

    private func report(_ stopped: borrowing StoppedHeap) -> MemoryReport {
        let heap = stopped.heap
        var findings: [MemoryFinding] = []
        // Garbage counted during the scan may have been collected since: what is still alive counts.
        if !unreachable.isEmpty {
            let found = cycles.cycles
            findings.append(
                .cyclicGarbage(
                    objects: unreachable.count, bytes: garbageBytes, cycles: Array(found.prefix(limits.cyclesShown)),
                    cycleCount: found.count))
            if !legacy.isEmpty {
                findings.append(.legacyFinalizersInGarbage(Array(legacy.prefix(limits.objectsShown))))
            }
            let thresholdZero = heap.collector.thresholds[0] == 0
            if !heap.collector.isEnabled || thresholdZero {
                findings.append(.collectionDisabled(garbageObjects: unreachable.count, thresholdZero: thresholdZero))
            }
        }
        if !garbageList.isEmpty {
            let entries = garbageList.prefix(limits.objectsShown).compactMap { root in
                stopped.liveObject(root.ref.slot) == nil ? nil : heap.summary(root.ref.slot)
            }
            findings.append(
                .uncollectableGarbage(
                    entries: entries, total: garbageList.count, heldObjects: sizes[0].objects, heldBytes: sizes[0].bytes
                ))
        }
        let big = zip(globals, sizes.dropFirst())
            .filter {
                $0.1.bytes >= limits.bigGlobalBytes || $0.1.objects >= limits.bigGlobalObjects
                    || ($0.1.bytes * 2 > heapBytes && $0.1.bytes >= limits.bigGlobalShareFloor)
            }
            .sorted { $0.1.bytes != $1.1.bytes ? $0.1.bytes > $1.1.bytes : $0.0.label < $1.0.label }
        for (global, size) in big {
            findings.append(
                .globalKeepsAlive(name: global.label, objects: size.objects, bytes: size.bytes, heapBytes: heapBytes))
        }
        return MemoryReport(findings: findings)
    }
}

/// The reference cycles among the unreachable objects: strongly connected components of more than one
/// object, or of one that references itself. Tarjan's algorithm with an explicit call stack (each frame
/// a node and its next child), which can stop between any two moves and go on. Its marks are kept by
/// slot in dictionaries: only the unreachable objects have any, usually a few.
private struct CycleFinder {
    private var index: [UInt32: Int32] = [:]
    private var lowlink: [UInt32: Int32] = [:]
    private var onStack: Set<UInt32> = []
    private let slotCount: Int
    private var stack: [UInt32] = []
    private var counter: Int32 = 0
    private var calls: [(slot: UInt32, children: [UInt32], next: Int)] = []
    /// The next unreachable object to start from.
    private var start = 0
    /// A component being popped off `stack`, down to `root`.
    private var popping: (root: UInt32, selfLoop: Bool, size: Int, types: [String: Int], first: [UInt32])?
    private(set) var found: [ReferenceCycle] = []

    init(slotCount: Int) {
        self.slotCount = slotCount
    }

    /// The cycles, largest first.
    var cycles: [ReferenceCycle] {
        found.sorted { $0.size != $1.size ? $0.size > $1.size : $0.members[0].id.rawValue < $1.members[0].id.rawValue }
    }

    mutating func advance(
        in stopped: borrowing StoppedHeap, unreachable: [UInt32], walk: ReachabilityWalk, limits: DoctorLimits,
        budget: inout StepBudget
    ) -> Bool {
        let heap = stopped.heap
        let slotCount = self.slotCount
        func children(_ slot: UInt32) -> [UInt32] {
            var result: [UInt32] = []
            guard let object = stopped.liveObject(slot) else { return result }
            heap.forEachReference(of: object) { child in
                if child >= ObjectRef.immortalCount && Int(child) < slotCount && !walk.reached[child] {
                    result.append(child)
                }
            }
            return result
        }
        func enter(_ slot: UInt32, budget: inout StepBudget) {
            index[slot] = counter
            lowlink[slot] = counter
            counter += 1
            stack.append(slot)
            onStack.insert(slot)
            let list = children(slot)
            _ = budget.spend(list.count)
            calls.append((slot, list, 0))
        }
        while true {
            guard budget.spend() else { return false }
            if var component = popping {
                // Invariant: the members above `root` on the stack belong to the component being popped.
                let member = stack.removeLast()
                onStack.remove(member)
                component.size += 1
                if stopped.liveObject(member) != nil {
                    component.types[heap.typeName(of: ObjectRef(slot: member)), default: 0] += 1
                    // The smallest slots, in order: the members a report names.
                    if component.first.count < limits.objectsShown || member < component.first.last! {
                        let at = component.first.firstIndex { $0 > member } ?? component.first.count
                        component.first.insert(member, at: at)
                        if component.first.count > limits.objectsShown { component.first.removeLast() }
                    }
                }
                popping = component
                guard member == component.root else { continue }
                popping = nil
                // A component popped over several steps: a member seen alive in an earlier step may have
                // died since (the world ran in between), and its slot must not be read.
                let shown = component.first.filter { stopped.liveObject($0) != nil }
                if (component.size > 1 || component.selfLoop) && !shown.isEmpty {
                    found.append(
                        ReferenceCycle(
                            size: component.size,
                            types: component.types.map { TypeCount(name: $0.key, count: $0.value, bytes: 0) }
                                .sorted { $0.count != $1.count ? $0.count > $1.count : $0.name < $1.name },
                            members: shown.map { heap.summary($0) }))
                }
                continue
            }
            guard let top = calls.last else {
                while start < unreachable.count && index[unreachable[start]] != nil { start += 1 }
                guard start < unreachable.count else { return true }
                enter(unreachable[start], budget: &budget)
                continue
            }
            if top.next < top.children.count {
                calls[calls.count - 1].next += 1
                let child = top.children[top.next]
                if let childIndex = index[child] {
                    if onStack.contains(child) { lowlink[top.slot] = min(lowlink[top.slot]!, childIndex) }
                } else {
                    enter(child, budget: &budget)
                }
                continue
            }
            calls.removeLast()
            if let parent = calls.last {
                lowlink[parent.slot] = min(lowlink[parent.slot]!, lowlink[top.slot]!)
            }
            if lowlink[top.slot] == index[top.slot] {
                popping = (top.slot, top.children.contains(top.slot), 0, [:], [])
            }
        }
    }
}

/// The ownership walk (see the file's header), as work lists: `sharedWork` spreads the shared mark,
/// `groupWork` claims for the current group; shared spreading is drained before each claim.
private struct OwnershipWalk {
    static let unclaimed: Int32 = -1
    static let sharedMark: Int32 = -2

    /// Indexed by slot: the group owning it, or a mark.
    private(set) var owner: SlotMap<Int32>
    private var sharedWork: [UInt32] = []
    private var groupWork: [UInt32] = []
    private let groups: [[UInt32]]
    /// The group being claimed for; -1 before the first.
    private var group = -1
    /// The object whose references are being marked shared or claimed (a big one takes several steps).
    private var expanding: ReferenceCursor?
    private var expandingShared = false

    var groupCount: Int { groups.count }

    init(slotCount: Int, shared: [UInt32], groups: [[UInt32]]) {
        owner = SlotMap(count: slotCount, default: Self.unclaimed)
        self.groups = groups
        for slot in shared { markShared(slot) }
    }

    private mutating func markShared(_ slot: UInt32) {
        guard Int(slot) < owner.count, owner[slot] != Self.sharedMark else { return }
        owner[slot] = Self.sharedMark
        sharedWork.append(slot)
    }

    private mutating func claim(_ slot: UInt32) {
        guard Int(slot) < owner.count else { return }
        switch owner[slot] {
        case Self.unclaimed:
            owner[slot] = Int32(group)
            groupWork.append(slot)
        case Int32(group), Self.sharedMark:
            break
        default:
            // Another group reached it first: neither owns it alone.
            markShared(slot)
        }
    }

    mutating func advance(in stopped: borrowing StoppedHeap, budget: inout StepBudget) -> Bool {
        while true {
            if let current = expanding {
                var cursor: ReferenceCursor? = current
                var children: [UInt32] = []
                let done = stopped.continueReferences(&cursor, budget: &budget) { children.append($0) }
                expanding = cursor
                for child in children {
                    if expandingShared { markShared(child) } else { claim(child) }
                }
                guard done else { return false }
                continue
            }
            guard budget.spend() else { return false }
            // Invariant: every slot in sharedWork is marked shared and its children are not yet examined.
            if let slot = sharedWork.popLast() {
                expanding = ReferenceCursor(stopped, slot)
                expandingShared = true
                continue
            }
            if let slot = groupWork.popLast() {
                guard owner[slot] == Int32(group) else { continue }
                expanding = ReferenceCursor(stopped, slot)
                expandingShared = false
                continue
            }
            group += 1
            guard group < groups.count else { return true }
            for slot in groups[group] { claim(slot) }
        }
    }
}
