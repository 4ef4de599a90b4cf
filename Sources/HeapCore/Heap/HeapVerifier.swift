/// The heap consistency check behind `DEBUG VERIFY`, modeled on CPython's debug validator: it walks
/// every slot, container and generation list and reports what it finds wrong instead of crashing.
extension StoppedHeap {
    /// Checks the whole heap, with `externalReferences` counting the references held outside the heap
    /// (variables, globals, server-held handles) per object.
    ///
    /// It checks that every live object's count equals the references found to it, that no reference
    /// points at a freed slot, that every tracked container is in exactly one generation list with
    /// consistent links, and that the per-kind and allocator counters add up. Returns the problems
    /// found (at most `limit`); an empty array means the heap is consistent.
    public func verify(externalReferences: [ObjectRef: Int], limit: Int = 100) -> [String] {
        let heap = heap
        let table = heap.table
        let generations = heap.generations
        let collector = heap.collector
        var problems: [String] = []
        var externalReferences = externalReferences
        for ref in collector.garbageReferences() { externalReferences[ref, default: 0] += 1 }
        func report(_ text: @autoclosure () -> String) {
            if problems.count < limit { problems.append(text()) }
        }
        let slotCount = table.slotsEverUsed
        var found = [Int](repeating: 0, count: slotCount)
        var live = [Bool](repeating: false, count: slotCount)
        var objectsByKind: [ObjectKind: Int] = [:]
        var bytesByKind: [ObjectKind: Int] = [:]
        var blocks = 0
        var trackedContainers = 0

        // Pass 1: which slots are live, and are their headers sane?
        for slot in UInt32(ObjectRef.immortalCount)..<UInt32(slotCount) {
            let count = table.refcount(slot)
            let address = table.objectIfAny(slot)
            if count == 0 {
                // A doomed object (cyclic garbage the collector is freeing right now) is dead already.
                if let address, !ObjectLayout(address).hasFlag(ObjectLayout.candidateFlag) {
                    report("slot \(slot): count 0 but still points at an object")
                }
                continue
            }
            guard let address else {
                report("slot \(slot): count \(count) but no object")
                continue
            }
            let object = ObjectLayout(address)
            guard ObjectKind(rawValue: object.rawKind) != nil else {
                report("slot \(slot): invalid kind byte \(object.rawKind)")
                continue
            }
            if object.slot != slot { report("slot \(slot): header names slot \(object.slot)") }
            live[Int(slot)] = true
        }

        // Pass 2: count references held by containers; check they point at live objects.
        for slot in UInt32(ObjectRef.immortalCount)..<UInt32(slotCount) where live[Int(slot)] {
            let object = layout(slot)
            let kind = object.kind
            objectsByKind[kind, default: 0] += 1
            var bytes = SizeClass.footprint(object.blockSize)
            blocks += 1
            if kind.isContainer {
                if object.isTracked { trackedContainers += 1 }
                // The mark is scratch of a collection; only a marking in steps leaves it between stops.
                if object.extraFlags & Mark.alive != 0 && !collector.isMarkingInSteps {
                    report("\(kind) \(table.id(of: slot)): alive mark left outside a collection")
                }
                heap.forEachReference(of: object) { child in
                    if child < ObjectRef.immortalCount { return }
                    if Int(child) >= slotCount || !live[Int(child)] {
                        report("\(kind) \(table.id(of: slot)) references dead slot \(child)")
                    } else {
                        found[Int(child)] += 1
                    }
                }
                if kind == .list, object.listHasArray {
                    bytes += SizeClass.footprint(object.listCapacity * 4)
                    blocks += 1
                }
                if kind == .list, !object.listHasArray, object.count > ObjectLayout.listInlineCapacity {
                    report("list \(table.id(of: slot)): \(object.count) items, none in an array")
                }
                if kind == .list, object.count > object.listCapacity {
                    report("list \(table.id(of: slot)): count \(object.count) above capacity \(object.listCapacity)")
                }
                if kind == .generator,
                    let problem = heap.generatorProblem(object, isLive: { Int($0) < slotCount && live[Int($0)] })
                {
                    report("generator \(table.id(of: slot)): \(problem)")
                }
                if kind == .dict || kind == .set || kind == .object, let storage = object.hashStorage {
                    let hashTable = HashStorage(base: storage)
                    bytes += SizeClass.footprint(hashTable.byteSize)
                    blocks += 1
                    var liveEntries = 0
                    hashTable.forEach { _, _ in liveEntries += 1 }
                    if liveEntries != object.count {
                        report("\(kind) \(table.id(of: slot)): count \(object.count) but \(liveEntries) entries")
                    }
                }
            }
            bytesByKind[kind, default: 0] += bytes
        }

        // Pass 3: each count against the references found.
        for slot in UInt32(ObjectRef.immortalCount)..<UInt32(slotCount) where live[Int(slot)] {
            let expected = found[Int(slot)] + externalReferences[ObjectRef(slot: slot), default: 0]
            let actual = table.refcount(slot)
            if actual != expected {
                report(
                    "\(heap.typeName(of: ObjectRef(slot: slot))) \(table.id(of: slot)): refcount \(actual) but \(expected) references found"
                )
            }
        }
        for (ref, count) in externalReferences where !ref.isImmortal && count > 0 {
            if Int(ref.slot) >= slotCount || !live[Int(ref.slot)] {
                report("a variable holds dead slot \(ref.slot)")
            }
        }

        // Pass 4: generation lists.
        var listed = 0
        for generation in 0..<4 {
            var previous = ObjectLayout.noLink
            var slot = generations.heads[generation]
            var length = 0
            while slot != ObjectLayout.noLink {
                guard Int(slot) < slotCount, live[Int(slot)] else {
                    report("generation \(generation) list holds dead slot \(slot)")
                    break
                }
                let object = layout(slot)
                if !object.isTracked || object.generation != generation {
                    report("slot \(slot) in generation \(generation) list has flags \(object.flags)")
                }
                if object.gcPrev != previous { report("slot \(slot): broken gc prev link") }
                previous = slot
                slot = object.gcNext
                length += 1
                if length > slotCount {
                    report("generation \(generation) list has a loop")
                    break
                }
            }
            if generations.tails[generation] != previous { report("generation \(generation): tail mismatch") }
            if generations.lengths[generation] != length {
                report("generation \(generation): length \(generations.lengths[generation]) but \(length) listed")
            }
            listed += length
        }
        if listed != trackedContainers {
            report("\(trackedContainers) tracked containers but \(listed) in generation lists")
        }

        // Pass 5: counters.
        let statistics = heap.statistics()
        for kind in ObjectKind.allCases where kind != .none && kind != .bool {
            let counted = statistics.objectsByKind[kind, default: 0]
            if counted != objectsByKind[kind, default: 0] {
                report("\(kind): counter says \(counted) objects, \(objectsByKind[kind, default: 0]) live")
            }
            if statistics.bytesByKind[kind, default: 0] != bytesByKind[kind, default: 0] {
                report(
                    "\(kind): counter says \(statistics.bytesByKind[kind, default: 0]) bytes, found \(bytesByKind[kind, default: 0])"
                )
            }
        }
        let allocated = statistics.allocator.blocksInUse.reduce(0, +) + statistics.allocator.largeBlocks
        if allocated != blocks {
            report("allocator holds \(allocated) blocks, objects account for \(blocks)")
        }
        return problems
    }
}
