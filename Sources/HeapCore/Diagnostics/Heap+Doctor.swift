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
public struct DoctorLimits: Sendable {
    /// A global is reported when what it alone keeps alive reaches either figure.
    public var bigGlobalBytes = 1 << 20
    public var bigGlobalObjects = 10_000
    /// How many cycles, and objects in each list, a report names.
    public var cyclesShown = 5
    public var objectsShown = 5

    public init() {}
}

extension Heap {
    /// Examines the heap; `external` are the variables and globals (gc.garbage is added here). Caller
    /// holds the gate exclusively.
    public func diagnoseStopped(roots external: [HeapRoot], limits: DoctorLimits = DoctorLimits()) -> MemoryReport {
        let roots = rootsStopped(adding: external)
        let walk = reachabilityStopped(from: roots)
        var findings: [MemoryFinding] = []

        var unreachable: [UInt32] = []
        var garbageBytes = 0
        var legacy: [ObjectSummary] = []
        for slot in UInt32(ObjectRef.immortalCount)..<UInt32(walk.reached.count) where !walk.reached[Int(slot)] {
            guard let object = liveObjectStopped(slot) else { continue }
            unreachable.append(slot)
            garbageBytes += footprintStopped(object)
            if object.hasFlag(ObjectLayout.legacyFinalizerFlag) { legacy.append(summary(slot)) }
        }
        if !unreachable.isEmpty {
            let cycles = cyclesStopped(among: unreachable, reached: walk.reached, limits: limits)
            findings.append(
                .cyclicGarbage(
                    objects: unreachable.count, bytes: garbageBytes, cycles: Array(cycles.prefix(limits.cyclesShown)),
                    cycleCount: cycles.count))
            if !legacy.isEmpty {
                findings.append(.legacyFinalizersInGarbage(Array(legacy.prefix(limits.objectsShown))))
            }
            let thresholdZero = collector.thresholds[0] == 0
            if !collector.isEnabled || thresholdZero {
                findings.append(.collectionDisabled(garbageObjects: unreachable.count, thresholdZero: thresholdZero))
            }
        }

        // Ownership: group 0 is gc.garbage, groups 1... the globals.
        let globals = roots.filter { $0.holder == .global }
        let garbageList = roots.filter { $0.holder == .garbageList }
        let groups = [garbageList.map(\.ref.slot)] + globals.map { [$0.ref.slot] }
        let owned = ownershipStopped(shared: roots.filter { $0.holder == .variable }.map(\.ref.slot), groups: groups)
        if !garbageList.isEmpty {
            findings.append(
                .uncollectableGarbage(
                    entries: garbageList.prefix(limits.objectsShown).map { summary($0.ref.slot) },
                    total: garbageList.count, heldObjects: owned[0].objects, heldBytes: owned[0].bytes))
        }
        let big = zip(globals, owned.dropFirst())
            .filter { $0.1.bytes >= limits.bigGlobalBytes || $0.1.objects >= limits.bigGlobalObjects }
            .sorted { $0.1.bytes != $1.1.bytes ? $0.1.bytes > $1.1.bytes : $0.0.label < $1.0.label }
        for (global, size) in big {
            findings.append(.globalKeepsAlive(name: global.label, objects: size.objects, bytes: size.bytes))
        }
        return MemoryReport(findings: findings)
    }

    private func summary(_ slot: UInt32) -> ObjectSummary {
        let ref = ObjectRef(slot: slot)
        return ObjectSummary(typeName: typeName(of: ref), id: id(of: ref))
    }

    /// The objects and bytes each group of roots alone keeps alive (see the file's header).
    private func ownershipStopped(shared: [UInt32], groups: [[UInt32]]) -> [(objects: Int, bytes: Int)] {
        let unclaimed: Int32 = -1
        let sharedMark: Int32 = -2
        let slotCount = table.slotsEverUsed
        var owner = [Int32](repeating: unclaimed, count: slotCount)

        /// Marks everything reachable from `start` as shared that is not shared yet.
        func spreadShared(from start: [UInt32]) {
            var work = start.filter { Int($0) < slotCount && owner[Int($0)] != sharedMark }
            for slot in work { owner[Int(slot)] = sharedMark }
            // Invariant: every slot in work is marked shared and its children are not yet examined.
            while let slot = work.popLast() {
                guard let object = liveObjectStopped(slot), object.kind.isContainer else { continue }
                forEachReference(of: object) { child in
                    guard Int(child) < slotCount, owner[Int(child)] != sharedMark else { return }
                    owner[Int(child)] = sharedMark
                    work.append(child)
                }
            }
        }

        spreadShared(from: shared)
        for (group, starts) in groups.enumerated() {
            let mark = Int32(group)
            var work: [UInt32] = []
            func claim(_ slot: UInt32) {
                guard Int(slot) < slotCount else { return }
                switch owner[Int(slot)] {
                case unclaimed:
                    owner[Int(slot)] = mark
                    work.append(slot)
                case mark, sharedMark:
                    break
                default:
                    // Another group reached it first: neither owns it alone.
                    spreadShared(from: [slot])
                }
            }
            for slot in starts { claim(slot) }
            while let slot = work.popLast() {
                guard owner[Int(slot)] == mark, let object = liveObjectStopped(slot), object.kind.isContainer
                else { continue }
                forEachReference(of: object) { claim($0) }
            }
        }

        var sizes = [(objects: Int, bytes: Int)](repeating: (0, 0), count: groups.count)
        for slot in UInt32(ObjectRef.immortalCount)..<UInt32(slotCount) where owner[Int(slot)] >= 0 {
            guard let object = liveObjectStopped(slot) else { continue }
            sizes[Int(owner[Int(slot)])].objects += 1
            sizes[Int(owner[Int(slot)])].bytes += footprintStopped(object)
        }
        return sizes
    }

    /// The reference cycles among the unreachable objects: strongly connected components of more
    /// than one object, or of one that references itself; largest first.
    private func cyclesStopped(among unreachable: [UInt32], reached: [Bool], limits: DoctorLimits) -> [ReferenceCycle] {
        let slotCount = reached.count
        func children(_ slot: UInt32) -> [UInt32] {
            var result: [UInt32] = []
            forEachReference(of: layout(slot)) { child in
                if child >= ObjectRef.immortalCount && Int(child) < slotCount && !reached[Int(child)] {
                    result.append(child)
                }
            }
            return result
        }
        var index = [Int32](repeating: -1, count: slotCount)
        var lowlink = [Int32](repeating: 0, count: slotCount)
        var onStack = [Bool](repeating: false, count: slotCount)
        var stack: [UInt32] = []
        var counter: Int32 = 0
        var components: [[UInt32]] = []
        // Tarjan's algorithm with an explicit call stack: each frame is a node and its next child.
        var calls: [(slot: UInt32, children: [UInt32], next: Int)] = []
        func enter(_ slot: UInt32) {
            index[Int(slot)] = counter
            lowlink[Int(slot)] = counter
            counter += 1
            stack.append(slot)
            onStack[Int(slot)] = true
            calls.append((slot, children(slot), 0))
        }
        for start in unreachable where index[Int(start)] == -1 {
            enter(start)
            while let top = calls.last {
                if top.next < top.children.count {
                    calls[calls.count - 1].next += 1
                    let child = top.children[top.next]
                    if index[Int(child)] == -1 {
                        enter(child)
                    } else if onStack[Int(child)] {
                        lowlink[Int(top.slot)] = min(lowlink[Int(top.slot)], index[Int(child)])
                    }
                    continue
                }
                calls.removeLast()
                if let parent = calls.last {
                    lowlink[Int(parent.slot)] = min(lowlink[Int(parent.slot)], lowlink[Int(top.slot)])
                }
                guard lowlink[Int(top.slot)] == index[Int(top.slot)] else { continue }
                var component: [UInt32] = []
                while let member = stack.popLast() {
                    onStack[Int(member)] = false
                    component.append(member)
                    if member == top.slot { break }
                }
                if component.count > 1 || top.children.contains(top.slot) { components.append(component) }
            }
        }
        return components.map { component -> ReferenceCycle in
            let sorted = component.sorted()
            var types: [String: Int] = [:]
            for slot in sorted { types[typeName(of: ObjectRef(slot: slot)), default: 0] += 1 }
            return ReferenceCycle(
                size: component.count,
                types: types.map { TypeCount(name: $0.key, count: $0.value, bytes: 0) }
                    .sorted { $0.count != $1.count ? $0.count > $1.count : $0.name < $1.name },
                members: sorted.prefix(limits.objectsShown).map { summary($0) })
        }
        .sorted { $0.size != $1.size ? $0.size > $1.size : $0.members[0].id.rawValue < $1.members[0].id.rawValue }
    }
}
