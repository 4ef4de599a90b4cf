import Synchronization

/// Rebuilding a heap from a checked image (``ImageReader``): `heapd --image` runs it once, before it
/// accepts clients, on a fresh heap with the world stopped.
extension StoppedHeap {
    /// Rebuilds the image's objects in this heap, which must hold none yet; returns the globals, each
    /// with the reference the image counts for it (the caller binds them without retaining).
    ///
    /// Three passes: allocate every object (atoms complete, containers empty with their capacity),
    /// set its flags and count and link a tracked container into its generation list in record order
    /// (which is list order); then, over the records that reference other objects only, fill
    /// sequences, class names and generator sources; then fill hash tables, whose hashes may depend
    /// on the tuples and instances filled before. Weak references, `gc.garbage` and
    /// the generation counts come last. Throws `cannotRestore` when the heap refuses memory or slots;
    /// the heap is then half built, and the caller must not serve it (heapd exits).
    public func restore(_ image: HeapImage) throws(ImageError) -> [(name: String, ref: ObjectRef)] {
        let heap = heap
        guard heap.statistics().objects == 0 else {
            throw ImageError(.cannotRestore, "an image is restored only into an empty heap")
        }
        var slots = [UInt32](repeating: 0, count: image.objectCount)
        func slot(_ ref: UInt32) -> UInt32 {
            if ref == HeapImage.noRef { return ObjectLayout.noLink }
            if ref < HeapImage.firstObjectRef { return ref }
            return slots[Int(ref - HeapImage.firstObjectRef)]
        }
        func refused(_ error: HeapError) -> ImageError {
            ImageError(.cannotRestore, "cannot restore the image: \(error.message)")
        }
        var record = ObjectRecord()

        // Pass 1: allocate; atoms complete, every object's flags, count and list membership. The
        // records that reference other objects are remembered by offset for the passes after it.
        var reader = ImageBytesReader(image.objectRecords, shortage: .corrupt, what: "an object record")
        let generations = heap.generations
        var referencing: [(index: Int, offset: Int)] = []
        for index in 0..<image.objectCount {
            let offset = reader.offset
            try ObjectRecord.decode(from: &reader, into: &record)
            let size: Int
            switch record.kind {
            case .int, .float: size = 16
            case .str, .bytes: size = ObjectLayout.bytesHeader + record.contents.count
            case .list: size = ObjectLayout.listSize
            case .tuple: size = ObjectLayout.tupleSize(count: record.refs.count)
            case .dict, .set, .object: size = ObjectLayout.hashObjectSize
            case .weakref: size = 24
            case .generator: size = ObjectLayout.generatorSize
            case .none, .bool: size = 16
            }
            let ref: ObjectRef
            let object: ObjectLayout
            do {
                (ref, object) = try heap.allocateObject(kind: record.kind, size: size, shard: 0)
            } catch {
                throw refused(error)
            }
            slots[index] = ref.slot
            switch record.kind {
            case .int: object.intValue = Int64(bitPattern: record.scalar)
            case .float: object.floatValue = Double(bitPattern: record.scalar)
            case .str, .bytes:
                object.byteCount = record.contents.count
                record.contents.withUnsafeBytes { source in
                    if let start = source.baseAddress {
                        object.bytes.baseAddress!.copyMemory(from: start, byteCount: source.count)
                    }
                }
            case .list:
                object.count = 0
                object.listCapacity = 0
                object.listHasArray = false
                // Inline or in an array as a list of that many items and that capacity is kept live.
                guard heap.resizeList(object, capacity: record.capacity, holding: record.refs.count, shard: 0) else {
                    throw refused(heap.outOfMemory(record.capacity * 4))
                }
            case .tuple: object.count = 0
            case .dict, .set, .object:
                object.count = 0
                object.hashStorage = nil
                if record.kind == .object { object.className = ObjectLayout.noLink }
                if record.capacity > 0 {
                    let bytes = HashStorage.byteSize(size: record.capacity)
                    guard let block = heap.allocator.allocate(size: bytes, shard: 0) else {
                        throw refused(heap.outOfMemory(bytes))
                    }
                    _ = HashStorage.initialize(block, size: record.capacity)
                    object.hashStorage = block
                    heap.counters.adjust(kind: record.kind, bytes: SizeClass.footprint(bytes), shard: 0)
                }
            case .weakref: object.weakTarget.initialize(to: Atomic(0))
            case .generator:
                object.generatorSource = ObjectLayout.noLink
                object.generatorMode = record.generatorMode
                object.generatorPosition = record.generatorPosition
                object.generatorStep = record.generatorStep
                object.generatorRemaining = record.generatorRemaining
            case .none, .bool: break
            }
            object.flags = record.flags & ~ObjectLayout.trackedFlag
            if record.flags & ObjectLayout.trackedFlag != 0 {
                generations.link(ref.slot, into: Int((record.flags & ObjectLayout.generationMask) >> 1))
            }
            // A fresh object has one reference; the image says how many it has.
            if record.refcount > 1 {
                heap.table.word(ref.slot).pointee.wrappingAdd(UInt64(record.refcount - 1), ordering: .relaxed)
            }
            switch record.kind {
            case .list, .tuple, .object, .generator: referencing.append((index, offset))
            case .dict where record.capacity > 0, .set where record.capacity > 0: referencing.append((index, offset))
            default: break
            }
        }

        // Pass 2: references held by sequences, instances and generators.
        // Invariant: every slot in `slots` is allocated, so each ref below resolves.
        for (index, offset) in referencing {
            reader.offset = offset
            try ObjectRecord.decode(from: &reader, into: &record)
            let object = layout(slots[index])
            switch record.kind {
            case .list:
                let items = object.listItems
                for (position, ref) in record.refs.enumerated() { items[position] = slot(ref) }
                object.count = record.refs.count
            case .tuple:
                for (position, ref) in record.refs.enumerated() { object.tupleItems[position] = slot(ref) }
                object.count = record.refs.count
            case .object: object.className = slot(record.link)
            case .generator: object.generatorSource = slot(record.link)
            default: break
            }
        }

        // Pass 3: hash tables, in entry order, deleted entries kept in place.
        for (index, offset) in referencing {
            reader.offset = offset
            try ObjectRecord.decode(from: &reader, into: &record)
            guard record.kind == .dict || record.kind == .set || record.kind == .object, record.capacity > 0 else {
                continue
            }
            let object = layout(slots[index])
            let table = HashStorage(base: object.hashStorage!)
            for entry in 0..<record.refs.count / 2 {
                let key = record.refs[2 * entry]
                guard key != HeapImage.noRef else {
                    table.appendDeleted()
                    continue
                }
                let keySlot = slot(key)
                let hash: UInt32
                do {
                    hash = try heap.hashValue(ObjectRef(slot: keySlot))
                } catch {
                    throw ImageError(.cannotRestore, "cannot restore the image: object \(index): \(error.message)")
                }
                table.insert(hash: hash, key: keySlot, value: slot(record.refs[2 * entry + 1]))
            }
            object.count = record.liveCount
        }

        // Weak references, gc.garbage, the counts.
        heap.weakrefs.withLock { registry in
            for (target, refs) in image.weakrefs {
                let targetSlot = slot(target)
                let targetID = heap.table.id(of: targetSlot)
                for weak in refs {
                    layout(slot(weak)).weakTarget.pointee.store(targetID.rawValue, ordering: .releasing)
                }
                registry[targetSlot] = refs.map { slot($0) }
                layout(targetSlot).extraFlags |= ObjectLayout.hasWeakrefsFlag
            }
        }
        heap.collector.restoreGarbage(image.garbage.map { ObjectRef(slot: slot($0)) })
        generations.lock.withLock {
            for generation in 0..<3 { generations.counts[generation] = image.counts[generation] }
            generations.youngLogCount = 0
        }
        return image.globals.map { ($0.name, ObjectRef(slot: slot($0.ref))) }
    }
}
