/// Capturing a heap image: the one pass that reads the heap for `SAVE` and `BGSAVE`, with the world
/// stopped, into memory; the file is written after the mutators resumed (``ImageWriter``).
extension StoppedHeap {
    /// The heap as an image (``HeapImage`` says what is kept): `globals` are the shared names and the
    /// references they hold; `dropping` the references held outside the heap that do not survive a
    /// restart (session variables, what a paused command holds), one entry per reference.
    public func captureImage(globals: [String: ObjectRef], dropping: [ObjectRef]) -> HeapImage {
        let heap = heap
        let table = heap.table
        let generations = heap.generations
        let slotCount = table.slotsEverUsed
        let first = Int(ObjectRef.immortalCount)

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

        // Pass 2: the order. Generation lists first, head to tail, then the rest by slot.
        var order: [UInt32] = []
        order.reserveCapacity(slotCount)
        var index = [UInt32](repeating: HeapImage.noRef, count: slotCount)
        func place(_ slot: UInt32) {
            guard kept[Int(slot)], index[Int(slot)] == HeapImage.noRef else { return }
            index[Int(slot)] = HeapImage.firstObjectRef + UInt32(order.count)
            order.append(slot)
        }
        for generation in 0..<4 {
            for slot in generations.members(of: generation) { place(slot) }
        }
        for slot in first..<slotCount { place(UInt32(slot)) }
        func ref(_ slot: UInt32) -> UInt32 {
            if slot < ObjectRef.immortalCount { return slot }
            if slot == ObjectLayout.noLink || slot == HashStorage.deletedKey { return HeapImage.noRef }
            return index[Int(slot)]
        }

        // Pass 3: the records.
        let out = ImageBytesWriter(capacity: order.count * 24)
        for slot in order {
            let object = layout(slot)
            out.u8(object.kind.rawValue)
            out.u8(object.flags & HeapImage.keptFlags)
            out.u32(counts[Int(slot)])
            switch object.kind {
            case .int: out.u64(UInt64(bitPattern: object.intValue))
            case .float: out.u64(object.floatValue.bitPattern)
            case .str, .bytes:
                out.u32(UInt32(object.byteCount))
                out.raw(UnsafeRawBufferPointer(object.bytes))
            case .list:
                out.u32(UInt32(object.listCapacity))
                out.u32(UInt32(object.count))
                for item in object.sequenceItems { out.u32(ref(item)) }
            case .tuple:
                out.u32(UInt32(object.count))
                for item in object.sequenceItems { out.u32(ref(item)) }
            case .dict, .set, .object:
                if object.kind == .object { out.u32(ref(object.className)) }
                out.u32(UInt32(object.count))
                if let storage = object.hashStorage {
                    let hashTable = HashStorage(base: storage)
                    out.u32(UInt32(hashTable.size))
                    out.u32(UInt32(hashTable.used))
                    for entry in 0..<hashTable.used {
                        let key = hashTable.key(at: entry)
                        out.u32(ref(key))
                        out.u32(key == HashStorage.deletedKey ? HeapImage.noRef : ref(hashTable.value(at: entry)))
                    }
                } else {
                    out.u32(0)
                    out.u32(0)
                }
            case .weakref:
                break
            case .generator:
                out.u32(ref(object.generatorSource))
                out.u8(object.generatorMode)
                out.u64(UInt64(bitPattern: object.generatorPosition))
                out.u64(UInt64(bitPattern: object.generatorStep))
                out.u64(object.generatorRemaining)
            case .none, .bool:
                break
            }
        }

        // The weak references of kept targets, kept weakrefs only, in registry order.
        var weakrefs: [(target: UInt32, weakrefs: [UInt32])] = []
        for (target, refs) in heap.weakrefs.withLock({ $0 }) where Int(target) < slotCount && kept[Int(target)] {
            let listed = refs.filter { Int($0) < slotCount && kept[Int($0)] }.map { ref($0) }
            if !listed.isEmpty { weakrefs.append((ref(target), listed)) }
        }
        weakrefs.sort { $0.target < $1.target }

        return HeapImage(
            objectCount: order.count,
            objectRecords: out.bytes,
            weakrefs: weakrefs,
            globals: globals.sorted { $0.key < $1.key }.map { ($0.key, ref($0.value.slot)) },
            garbage: heap.collector.garbageReferences().map { ref($0.slot) },
            counts: generations.countArray)
    }
}
