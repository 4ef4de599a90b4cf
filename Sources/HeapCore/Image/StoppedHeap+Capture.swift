import Dispatch

/// Capturing a heap image: the one pass that reads the heap for `SAVE` and `BGSAVE`, with the world
/// stopped, into memory; the file is written after the mutators resumed (``ImageWriter``).
extension StoppedHeap {
    /// The heap as an image (``HeapImage`` says what is kept): `globals` are the shared names and the
    /// references they hold; `dropping` the references held outside the heap that do not survive a
    /// restart (session variables, what a paused command holds), one entry per reference.
    ///
    /// `order`: how records are ordered (``HeapImage/RecordOrder``).
    public func captureImage(
        globals: [String: ObjectRef], dropping: [ObjectRef], order recordOrder: HeapImage.RecordOrder = .generationLists
    ) -> HeapImage {
        let heap = heap
        let table = heap.table
        let generations = heap.generations
        let slotCount = table.slotsEverUsed
        let first = Int(ObjectRef.immortalCount)

        // The generation lists' order (pass 2) is a pointer chase through every tracked header: on a
        // big heap it is walked on the second core while pass 1 scans the table (the mutators are
        // parked; both only read). The walk is joined before pass 2.
        let walked = WalkedGenerations()
        let walking = DispatchGroup()
        if recordOrder == .generationLists && slotCount >= Self.parallelCaptureMinimum {
            DispatchQueue.global().async(group: walking) {
                walked.members = (0..<4).map { generations.members(of: $0) }
            }
        }

        // Pass 1: the counts the image will hold. After it, counts[s] is slot s's refcount less the
        // dropped references, and less the references of every object that thereby reached zero;
        // kept[s] says whether s is in the image.
        var counts = [UInt32](repeating: 0, count: slotCount)
        var kept = [Bool](repeating: false, count: slotCount)
        for slot in first..<slotCount {
            let count = table.refcount(UInt32(slot))
            guard count > 0, table.objectIfAny(UInt32(slot)) != nil else { continue }
            counts[slot] = UInt32(truncatingIfNeeded: count)
            kept[slot] = true
        }
        var dying: [UInt32] = []
        func drop(_ slot: UInt32) {
            guard Int(slot) >= first, kept[Int(slot)] else { return }
            // Invariant: counts only fall to zero once, so each dying slot is pushed once.
            counts[Int(slot)] -= 1
            if counts[Int(slot)] == 0 {
                kept[Int(slot)] = false
                dying.append(slot)
            }
        }
        for ref in dropping { drop(ref.slot) }
        while let slot = dying.popLast() {
            let object = layout(slot)
            if object.kind.isContainer { heap.forEachReference(of: object) { drop($0) } }
        }

        // Pass 2: the order. By generation lists, head to tail, then the rest by slot; or (`.slots`, as a
        // background capture orders them) tracked objects by generation, each generation by slot.
        var order: [UInt32] = []
        order.reserveCapacity(slotCount)
        var index = [UInt32](repeating: HeapImage.noRef, count: slotCount)
        func place(_ slot: UInt32) {
            guard kept[Int(slot)], index[Int(slot)] == HeapImage.noRef else { return }
            index[Int(slot)] = HeapImage.firstObjectRef + UInt32(order.count)
            order.append(slot)
        }
        switch recordOrder {
        case .generationLists:
            walking.wait()
            let members = walked.members.isEmpty ? (0..<4).map { generations.members(of: $0) } : walked.members
            for list in members {
                for slot in list { place(slot) }
            }
        case .slots:
            for generation in 0..<4 {
                for slot in first..<slotCount where kept[slot] {
                    let object = layout(UInt32(slot))
                    if object.kind.isContainer && object.isTracked && object.generation == generation {
                        place(UInt32(slot))
                    }
                }
            }
        }
        for slot in first..<slotCount { place(UInt32(slot)) }
        func ref(_ slot: UInt32) -> UInt32 {
            if slot < ObjectRef.immortalCount { return slot }
            if slot == ObjectLayout.noLink || Int(slot) >= slotCount { return HeapImage.noRef }
            return index[Int(slot)]
        }

        // Pass 3: the records. A big heap's are written in two halves at once: the mutators are parked,
        // so the second core would idle, and this pass (reading every object where it lies) is most of
        // the stop (measured on 1M objects: 20-30 ms of 50).
        let records: [UInt8]
        if order.count >= Self.parallelCaptureMinimum {
            let half = order.count / 2
            let writers = [ImageBytesWriter(capacity: half * 24), ImageBytesWriter(capacity: half * 24)]
            // Each writer is used by its one thread; both threads are joined before this goes on.
            nonisolated(unsafe) let halves = writers
            let (order, counts, index, heap) = (order, counts, index, heap)
            DispatchQueue.concurrentPerform(iterations: 2) { part in
                let out = halves[part]
                func ref(_ slot: UInt32) -> UInt32 {
                    if slot < ObjectRef.immortalCount { return slot }
                    if slot == ObjectLayout.noLink || Int(slot) >= slotCount { return HeapImage.noRef }
                    return index[Int(slot)]
                }
                for slot in part == 0 ? order[..<half] : order[half...] {
                    out.writeRecord(heap.layout(slot), count: counts[Int(slot)], ref: ref)
                }
            }
            records = ImageBytesWriter.joined(halves)
        } else {
            let out = ImageBytesWriter(capacity: order.count * 24)
            for slot in order { out.writeRecord(layout(slot), count: counts[Int(slot)], ref: ref) }
            records = out.bytes
        }
        return HeapImage.assemble(
            objectCount: order.count, records: records, registry: heap.weakrefs.withLock { $0 },
            globals: globals, garbage: heap.collector.garbageReferences(), counts: generations.countArray,
            classes: heap.sharedKeys.snapshot(), ref: ref)
    }

    /// Below this many objects a second thread costs more to start than it saves.
    static let parallelCaptureMinimum = 65_536
}

/// The generation lists' members, walked on another thread during a capture (written by it before the
/// capture waits for it, read after).
private final class WalkedGenerations: @unchecked Sendable {
    var members: [[UInt32]] = []
}
