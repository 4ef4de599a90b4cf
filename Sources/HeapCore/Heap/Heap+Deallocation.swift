/// Freeing: what happens when a reference count reaches zero.
extension Heap {
    /// Frees the object in `slot`, whose count just reached zero, and then every object whose count
    /// reaches zero because of it.
    ///
    /// In CPython's order: a dying container drops its references one at a time (list and tuple
    /// items last to first, dict, set and instance entries first to last), and a referent whose count
    /// reaches zero dies at once, its own references dropped before its container drops the next one
    /// (`tp_dealloc` calls `Py_DECREF`, which deallocates). So a weakref held by a later item is still
    /// alive, and its callback reported, when an earlier item's death clears it.
    ///
    /// Iterative, with an explicit stack instead of recursion (``ReleaseStack``; CPython needs its
    /// "trashcan" to free a long chain without overflowing the C stack; heapd does not defer as the
    /// trashcan does past 50 levels, so only that deep does its order differ).
    @usableFromInline
    func deallocate(_ slot: UInt32, shard: Int) {
        let object = prepareToDie(slot)
        // The first death among the references: the references after it are kept (not yet dropped).
        var firstDead: UInt32?
        var pending: [UInt32] = []
        if object.kind.isContainer {
            forEachReferenceInReleaseOrder(of: object) { child in
                if firstDead != nil {
                    pending.append(child)
                } else if child >= ObjectRef.immortalCount && dropReference(child) {
                    firstDead = child
                }
            }
        }
        guard let firstDead else {
            // Alone: freed now, as most objects die.
            let kind = object.kind
            if kind.isContainer {
                generations.untrackDying(slot)
                freePayload(of: object, shard: shard)
            }
            let size = object.blockSize
            counters.remove(kind: kind, bytes: SizeClass.footprint(size), shard: shard)
            allocator.free(object.base, size: size, shard: shard)
            table.release(slot, shard: shard)
            return
        }
        // A cascade. One batch, held in a constant: kept in an optional that the loop reassigned, it
        // cost a retain and a release per freed object (7% of dropping a 1M chain). A batch keeps its
        // objects allocated until it is flushed; the references still to drop are copies in `pending`.
        let batch = FreeBatch()
        addToBatch(slot, object, batch, shard: shard)
        var stack = ReleaseStack(remaining: pending)
        var dying: UInt32? = firstDead
        while true {
            if let current = dying {
                // Dies now: its finalizer and weakrefs, then its references go on top of the stack.
                dying = nil
                let dead = prepareToDie(current)
                // A list or tuple of one item in tail position (nothing left to drop in the run it
                // would replace), a long chain's every link: its one reference is dropped at once,
                // the same drop in the same order, without a run on the stack (read before the batch
                // may free its block).
                let sole = stack.isExhausted ? soleItem(of: dead) : nil
                if sole == nil { stack.begin(dead, heap: self) }
                addToBatch(current, dead, batch, shard: shard)
                if batch.isFull { flush(batch, shard: shard) }
                if let sole {
                    if sole >= ObjectRef.immortalCount && dropReference(sole) { dying = sole }
                    continue
                }
            }
            guard let child = stack.nextReference() else { break }
            if child >= ObjectRef.immortalCount && dropReference(child) { dying = child }
        }
        flush(batch, shard: shard)
    }

    /// The only reference of a list or tuple of one item; nil for anything else.
    @inline(__always)
    private func soleItem(of object: ObjectLayout) -> UInt32? {
        guard object.kind == .list || object.kind == .tuple, object.count == 1 else { return nil }
        return object.sequenceItems[0]
    }

    /// What a dying object does before its references go: its finalizer runs and the weakrefs to it
    /// are cleared (a weakref leaves its referent's list). Returns the object.
    @inline(__always)
    private func prepareToDie(_ current: UInt32) -> ObjectLayout {
        // A background capture copies the object before it is finalized, cleared and freed.
        willMutate(current)
        let object = layout(current)
        // PEP 442: a finalizer runs once, whether the object dies here or in the collector. As in
        // CPython's subtype_dealloc, `__del__` runs before the weakrefs are cleared, a legacy tp_del
        // after.
        let finalizes =
            object.flags & (ObjectLayout.finalizerFlag | ObjectLayout.legacyFinalizerFlag) != 0
            && !object.hasFlag(ObjectLayout.finalizedFlag)
        let finalizesFirst = finalizes && object.hasFlag(ObjectLayout.finalizerFlag)
        if finalizesFirst { finalize(current, object) }
        if object.extraFlags & ObjectLayout.hasWeakrefsFlag != 0 {
            clearWeakrefs(to: current)
        }
        if finalizes && !finalizesFirst { finalize(current, object) }
        if object.kind == .weakref {
            unregisterWeakref(current, object)
        }
        return object
    }

    /// Puts a dead object's frees into `batch`: its block and slot, its payload, its counts, and, for a container, its untracking (unless the
    /// collector already unlinked it: `untrack: false`).
    @inline(__always)
    func addToBatch(_ slot: UInt32, _ object: ObjectLayout, _ batch: FreeBatch, shard: Int, untrack: Bool = true) {
        let size = object.blockSize
        var bytes = SizeClass.footprint(size)
        if object.kind.isContainer {
            if untrack { batch.addContainer(slot) }
            if let (payload, payloadSize) = payload(of: object) {
                bytes += SizeClass.footprint(payloadSize)
                if payloadSize > SizeClass.maxSmall {
                    batch.largeBlocks.append((payload, payloadSize))
                } else {
                    batch.addPayload(payload)
                }
            }
        }
        // A long str, bytes or tuple is a large block of its own (the batch takes pool blocks only).
        if size > SizeClass.maxSmall {
            batch.largeBlocks.append((object.base, size))
        } else {
            batch.addBlock(object.base)
        }
        batch.addObject(slot, rawKind: object.rawKind, bytes: bytes)
    }

    /// Carries out a batch: untracks its containers, gives back its blocks, then its slots (a slot is
    /// reused only after its block is free), and applies its counts.
    func flush(_ batch: FreeBatch, shard: Int) {
        generations.untrackDying(UnsafeBufferPointer(start: batch.containers, count: batch.containerCount))
        allocator.freeBatch(UnsafeBufferPointer(start: batch.blocks, count: batch.blockCount))
        allocator.freeBatch(UnsafeBufferPointer(start: batch.payloads, count: batch.payloadCount))
        for (block, size) in batch.largeBlocks { allocator.free(block, size: size, shard: shard) }
        table.releaseBatch(UnsafeBufferPointer(start: batch.slots, count: batch.slotCount), shard: shard)
        counters.remove(objects: batch.objectsPerKind, bytes: batch.bytesPerKind, shard: shard)
        batch.reset()
    }

    /// Marks a dying object finalized and reports its finalizer's run.
    private func finalize(_ slot: UInt32, _ object: ObjectLayout) {
        object.setFlag(ObjectLayout.finalizedFlag, true)
        emit(.finalizer(object: table.id(of: slot), typeName: typeName(of: ObjectRef(slot: slot))))
    }

    /// Calls `body` with each slot the container references (a counted reference each).
    @inline(__always)
    func forEachReference(of object: ObjectLayout, _ body: (UInt32) -> Void) {
        switch object.kind {
        case .list, .tuple:
            for item in object.sequenceItems { body(item) }
        case .dict, .set, .object:
            if object.kind == .object { body(object.className) }
            if let storage = object.hashStorage {
                HashStorage(base: storage).forEach { key, value in
                    body(key)
                    if value != HashStorage.noValue { body(value) }
                }
            }
        case .generator:
            // The source, until the generator is exhausted (then it is dropped, as CPython's iterators do).
            let source = object.generatorSource
            if source != ObjectLayout.noLink { body(source) }
        default:
            break
        }
    }

    /// Calls `body` with each slot the container references, in the order CPython drops them when the
    /// container dies or its cycle is cleared (`clearing`) — list and tuple items last to first
    /// (`list_clear`, `tupledealloc`), dict, set and instance entries first to last — which is the
    /// order of the finalizers and weakref callbacks those drops set off. Freeing by count and the
    /// collector's clearing both go through here.
    ///
    /// "First to last" for an instance means two orders in CPython (``SharedKeys``), measured with
    /// 3.11 and 3.13: dying by count, its inline values go by the class's shared index
    /// (`_PyObject_FreeInstanceAttributes`); cleared as cyclic garbage, in the order it set them.
    @inline(__always)
    func forEachReferenceInReleaseOrder(of object: ObjectLayout, clearing: Bool = false, _ body: (UInt32) -> Void) {
        if object.kind == .list || object.kind == .tuple {
            for child in object.sequenceItems.reversed() { body(child) }
        } else if !clearing && object.kind == .object && object.attributeOrder == .unsorted {
            body(object.className)
            for (key, value) in attributesInSharedOrder(of: object) {
                body(key)
                body(value)
            }
        } else {
            forEachReference(of: object, body)
        }
    }

    /// An instance's live attributes as (name, value) slots, sorted by the class's shared indexes
    /// (``SharedKeys``); the caller holds the instance's lock, or the instance is dying.
    func attributesInSharedOrder(of object: ObjectLayout) -> [(UInt32, UInt32)] {
        guard let storage = object.hashStorage else { return [] }
        var entries: [(UInt32, UInt32)] = []
        HashStorage(base: storage).forEach { key, value in entries.append((key, value)) }
        let indexes = sharedKeys.indexes(of: entries.map { strValue($0.0) }, in: strValue(object.className))
        return zip(indexes, entries).sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// The text of a str object.
    func strValue(_ slot: UInt32) -> String {
        String(decoding: layout(slot).bytes, as: UTF8.self)
    }

    /// A container's separately allocated payload (item array or hash table) and its size, if it has
    /// one.
    func payload(of object: ObjectLayout) -> (UnsafeMutableRawPointer, Int)? {
        switch object.kind {
        case .list:
            guard object.listHasArray else { return nil }
            return (object.listArrayPointer, object.listCapacity * 4)
        case .dict, .set, .object:
            guard let storage = object.hashStorage else { return nil }
            return (storage, HashStorage(base: storage).byteSize)
        default:
            return nil
        }
    }

    /// Frees a container's separately allocated payload (item array or hash table).
    func freePayload(of object: ObjectLayout, shard: Int) {
        guard let (payload, size) = payload(of: object) else { return }
        counters.adjust(kind: object.kind, bytes: -SizeClass.footprint(size), shard: shard)
        allocator.free(payload, size: size, shard: shard)
        if object.kind != .list { object.hashStorage = nil }
    }
}
