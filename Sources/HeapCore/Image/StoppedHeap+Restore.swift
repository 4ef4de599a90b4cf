import Synchronization

/// Rebuilding a heap from a checked image (``ImageReader``): `heapd --image` runs it once, before it
/// accepts clients, on a fresh heap with the world stopped.
///
/// ## In bulk
///
/// The heap is not shared yet, so nothing here goes through the paths mutators take one object at a
/// time. Slots: the image's objects take one range of never-used handle-table slots, object i slot
/// `first + i`, so every ref is known before its object exists and a sequence is filled as it is
/// built. Blocks: whole pools per size class (``ArenaAllocator/takeRun(classIndex:shard:)``), one
/// lock per pool instead of one per block, the unused rest given back at the end. Counts: written into
/// the table entry with the address, no atomic read-modify-write. Generation lists: records come in
/// list order, so each tracked container is linked behind the one before it, and each list joins its
/// generation once. Per-kind counters: summed here, added once. Records are read in place through an
/// ``ImageRecordCursor`` (no array per record).
///
/// 1M small objects (`Benchmarks/run.sh image`, thread CPU): the rebuild took 84 ms one object at a
/// time, 30 ms so (docs/009 has the figures and the profile).
extension StoppedHeap {
    /// Rebuilds the image's objects in this heap, which must hold none yet; returns the globals, each
    /// with the reference the image counts for it (the caller binds them without retaining).
    ///
    /// Two passes over the records: the first builds every object (atoms complete, sequences,
    /// class names and generator sources filled, hash tables allocated empty), sets its flags and count
    /// and links a tracked container into its generation list in record order (which is list order);
    /// the second fills hash tables, whose hashes may depend on tuples and instances the first built.
    /// Weak references, `gc.garbage` and the generation counts come last. Throws `cannotRestore` when
    /// the heap refuses memory or slots; the heap is then half built, and the caller must not serve it
    /// (heapd exits).
    public func restore(_ image: HeapImage) throws(ImageError) -> [(name: String, ref: ObjectRef)] {
        let heap = heap
        guard heap.statistics().objects == 0 else {
            throw ImageError(.cannotRestore, "an image is restored only into an empty heap")
        }
        let count = image.objectCount
        guard let first = heap.table.claimFreshRange(count: count) else {
            throw ImageError(
                .cannotRestore,
                "cannot restore the image: its \(count) objects pass the object limit (\(heap.configuration.maxObjects))"
            )
        }
        // Image object i is slot first + i; refs below 4 are the singletons, whose slots they are, and
        // noRef is noLink.
        let shift = first &- HeapImage.firstObjectRef
        @inline(__always)
        func slot(_ ref: UInt32) -> UInt32 {
            ref >= HeapImage.firstObjectRef && ref != HeapImage.noRef ? ref &+ shift : ref
        }

        let builder = RestoreBuilder(heap: heap)
        defer { builder.finish() }
        try image.objectRecords.withImageBytes { (raw) throws(ImageError) in
            var cursor = ImageRecordCursor(raw)
            // Pass 1: every object. Hash tables are remembered by record offset for pass 2.
            var tables: [(slot: UInt32, offset: Int)] = []
            for index in 0..<count {
                let offset = cursor.offset
                let record = try cursor.next()
                let objectSlot = first + UInt32(index)
                let kind = record.kind
                let size: Int
                switch kind {
                case .int, .float: size = 16
                case .str, .bytes: size = ObjectLayout.bytesHeader + record.contents.count
                case .list: size = ObjectLayout.listSize
                case .tuple: size = ObjectLayout.tupleSize(count: record.refs.count)
                case .dict, .set, .object: size = ObjectLayout.hashObjectSize
                case .weakref: size = 24
                case .generator: size = ObjectLayout.generatorSize
                case .none, .bool: size = 16
                }
                let block = try builder.block(size: size, kind: kind)
                builder.countObject(kind)
                let object = ObjectLayout(block)
                object.initializeHeader(slot: objectSlot, kind: kind)
                heap.table.fill(objectSlot, address: block, refcount: record.refcount)
                switch kind {
                case .int:
                    object.intValue = Int64(bitPattern: record.scalar)
                case .float:
                    object.floatValue = Double(bitPattern: record.scalar)
                case .str, .bytes:
                    object.byteCount = record.contents.count
                    if let start = record.contents.baseAddress {
                        object.bytes.baseAddress!.copyMemory(from: start, byteCount: record.contents.count)
                    }
                case .list:
                    let items = record.refs
                    let capacity = record.capacity
                    object.count = items.count
                    object.listHasArray = false
                    object.listCapacity = capacity
                    // Inline or in an array as a live list of that many items and that capacity is
                    // (Heap.resizeList's rule).
                    if items.count > ObjectLayout.listInlineCapacity || capacity > ObjectLayout.listInlineMaxAllocated {
                        object.listArrayPointer = try builder.block(size: capacity * 4, kind: .list)
                        object.listHasArray = true
                    }
                    let target = object.listItems
                    for position in 0..<items.count { target[position] = slot(items[position]) }
                case .tuple:
                    let items = record.refs
                    object.count = items.count
                    let target = object.tupleItems
                    for position in 0..<items.count { target[position] = slot(items[position]) }
                case .dict, .set, .object:
                    object.count = 0
                    object.hashStorage = nil
                    if kind == .object { object.className = slot(record.link) }
                    if record.capacity > 0 {
                        let block = try builder.block(size: HashStorage.byteSize(size: record.capacity), kind: kind)
                        _ = HashStorage.initialize(block, size: record.capacity)
                        object.hashStorage = block
                        tables.append((objectSlot, offset))
                    }
                case .weakref:
                    object.weakTarget.initialize(to: Atomic(0))
                case .generator:
                    object.generatorSource = slot(record.link)
                    object.generatorMode = record.generatorMode
                    object.generatorPosition = record.generatorPosition
                    object.generatorStep = record.generatorStep
                    object.generatorRemaining = record.generatorRemaining
                case .none, .bool:
                    break
                }
                // The record's flags are the object's (tracked, generation, finalizer bits), and for an
                // instance its attribute order.
                object.flags = record.flags & HeapImage.keptFlags
                if record.flags & ObjectFlags.unsortedAttributes != 0 {
                    object.setExtraFlags(ObjectLayout.unsortedAttributesFlag)
                }
                if record.flags & ObjectFlags.combinedAttributes != 0 {
                    object.setExtraFlags(ObjectLayout.combinedAttributesFlag)
                }
                if record.flags & ObjectLayout.trackedFlag != 0 {
                    builder.link(
                        object, slot: objectSlot, generation: Int((record.flags & ObjectLayout.generationMask) >> 1))
                }
            }

            // Pass 2: hash tables, in entry order, deleted entries kept in place.
            // Invariant: every object is built, so every key's hash can be computed.
            for (tableSlot, offset) in tables {
                cursor.offset = offset
                let record = try cursor.next()
                let object = layout(tableSlot)
                let table = HashStorage(base: object.hashStorage!)
                let entries = record.refs
                for entry in 0..<entries.count / 2 {
                    let key = entries[2 * entry]
                    guard key != HeapImage.noRef else {
                        table.appendDeleted()
                        continue
                    }
                    let keySlot = slot(key)
                    let hash: UInt32
                    do throws(HeapError) {
                        hash = try heap.hashValue(ObjectRef(slot: keySlot))
                    } catch {
                        throw ImageError(
                            .cannotRestore, "cannot restore the image: object \(tableSlot - first): \(error.message)")
                    }
                    table.insert(hash: hash, key: keySlot, value: slot(entries[2 * entry + 1]))
                    if object.kind == .dict && layout(keySlot).kind != .str {
                        table.hasGeneralKeys = true
                    }
                }
                object.count = record.liveCount
            }
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
                layout(targetSlot).setExtraFlags(ObjectLayout.hasWeakrefsFlag)
            }
        }
        heap.collector.restoreGarbage(image.garbage.map { ObjectRef(slot: slot($0)) })
        heap.sharedKeys.restore(image.classes)
        let generations = heap.generations
        generations.lock.withLock {
            for generation in 0..<3 { generations.counts[generation] = image.counts[generation] }
            generations.youngLogCount = 0
        }
        return image.globals.map { ($0.name, ObjectRef(slot: slot($0.ref))) }
    }
}

/// What a restore builds with while it runs: a run of fresh blocks per size class, the tail of each
/// generation's new chain, and the objects and bytes per kind, all in raw memory this builder owns
/// (a restore writes them once per object; arrays would add a uniqueness check each time).
/// ``finish()`` hands back the runs' unused blocks, joins the chains to the generation lists and adds
/// the counts; it runs once, whether the restore succeeds or not.
private final class RestoreBuilder {
    let heap: Heap
    let tracing: Bool
    /// Per size class, the run blocks are taken from (none yet: remaining 0).
    let runs: UnsafeMutablePointer<ArenaAllocator.BlockRun>
    /// Per generation (0–3): head, tail and length of the chain linked so far.
    let heads: UnsafeMutablePointer<UInt32>
    let tails: UnsafeMutablePointer<ObjectLayout?>
    let lengths: UnsafeMutablePointer<Int>
    /// Per kind (raw value): objects and bytes (block footprints) built.
    let objects: UnsafeMutablePointer<Int>
    let bytes: UnsafeMutablePointer<Int>
    static let kinds = ObjectKind.allCases.count

    init(heap: Heap) {
        self.heap = heap
        tracing = heap.allocator.tracer.isTracing
        runs = .allocate(capacity: SizeClass.count)
        // A placeholder address for an empty run; never read, since remaining is 0.
        runs.initialize(
            repeating: ArenaAllocator.BlockRun(next: UnsafeMutableRawPointer(bitPattern: 16)!, remaining: 0),
            count: SizeClass.count)
        heads = .allocate(capacity: 4)
        heads.initialize(repeating: ObjectLayout.noLink, count: 4)
        tails = .allocate(capacity: 4)
        tails.initialize(repeating: nil, count: 4)
        lengths = .allocate(capacity: 4)
        lengths.initialize(repeating: 0, count: 4)
        objects = .allocate(capacity: Self.kinds)
        objects.initialize(repeating: 0, count: Self.kinds)
        bytes = .allocate(capacity: Self.kinds)
        bytes.initialize(repeating: 0, count: Self.kinds)
    }

    deinit {
        runs.deallocate()
        heads.deallocate()
        tails.deallocate()
        lengths.deallocate()
        objects.deallocate()
        bytes.deallocate()
    }

    /// A block of `size` bytes for an object of `kind` or its payload (an item array, a hash table),
    /// its footprint counted in `kind`'s bytes.
    @inline(__always)
    func block(size: Int, kind: ObjectKind) throws(ImageError) -> UnsafeMutableRawPointer {
        let block: UnsafeMutableRawPointer
        if size > SizeClass.maxSmall {
            // Large payloads come from the system allocator one by one (they are few); allocate traces.
            guard let large = heap.allocator.allocate(size: size, shard: 0) else { throw refused(size) }
            block = large
        } else {
            let classIndex = SizeClass.index(for: size)
            if runs[classIndex].remaining == 0 {
                guard let run = heap.allocator.takeRun(classIndex: classIndex, shard: 0) else { throw refused(size) }
                runs[classIndex] = run
            }
            block = runs[classIndex].next
            runs[classIndex].next += SizeClass.blockSize(classIndex)
            runs[classIndex].remaining -= 1
            if tracing { heap.allocator.tracer.recordSmall(block, size: size, shard: 0) }
        }
        bytes[Int(kind.rawValue)] += SizeClass.footprint(size)
        return block
    }

    /// Counts one object of `kind` (its block and payloads are counted in bytes by ``block(size:kind:)``).
    @inline(__always)
    func countObject(_ kind: ObjectKind) {
        objects[Int(kind.rawValue)] += 1
    }

    /// Links a tracked container behind the last one linked into `generation`.
    @inline(__always)
    func link(_ object: ObjectLayout, slot: UInt32, generation: Int) {
        if let tail = tails[generation] {
            tail.gcNext = slot
            object.gcPrev = tail.slot
        } else {
            heads[generation] = slot
        }
        tails[generation] = object
        lengths[generation] += 1
    }

    @inline(never)
    func refused(_ size: Int) -> ImageError {
        ImageError(.cannotRestore, "cannot restore the image: \(heap.outOfMemory(size).message)")
    }

    func finish() {
        for classIndex in 0..<SizeClass.count {
            heap.allocator.returnUnused(runs[classIndex], classIndex: classIndex)
            runs[classIndex].remaining = 0
        }
        for generation in 0..<4 {
            if let tail = tails[generation] {
                heap.generations.append(
                    chain: heads[generation], tail: tail.slot, length: lengths[generation], to: generation)
            }
            tails[generation] = nil
            lengths[generation] = 0
        }
        heap.counters.add(
            objects: UnsafeBufferPointer(start: objects, count: Self.kinds),
            bytes: UnsafeBufferPointer(start: bytes, count: Self.kinds), shard: 0)
        objects.update(repeating: 0, count: Self.kinds)
        bytes.update(repeating: 0, count: Self.kinds)
    }
}
