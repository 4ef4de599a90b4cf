/// Freeing: what happens when a reference count reaches zero.
extension Heap {
    /// Frees the object in `slot`, whose count just reached zero, and then every object whose count
    /// reaches zero because of it.
    ///
    /// Iterative, with an explicit work list instead of recursion (CPython needs its "trashcan" to free a
    /// long chain without overflowing the C stack): dropping the head of a 10-million-node linked list
    /// holds one pending slot at a time.
    @usableFromInline
    func deallocate(_ slot: UInt32, shard: Int) {
        // The pending list stays empty (and unallocated) unless freeing one object frees another.
        var work: [UInt32] = []
        var next: UInt32? = slot
        // Invariant: `next` and every slot in `work` have a count of zero and are reachable by no one else.
        while let current = next {
            let object = layout(current)
            let kind = object.kind
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
            if kind == .weakref {
                unregisterWeakref(current, object)
            }
            if kind.isContainer {
                generations.untrackDying(current)
                // Children are released in CPython's order — list and tuple items last to first, dict,
                // set and instance entries first to last — and those whose count reaches zero are freed
                // depth first in the order they reached it, so finalizer and weakref events come in the
                // order Python's would.
                let firstPending = work.count
                if kind == .list || kind == .tuple {
                    for child in object.sequenceItems.reversed()
                    where child >= ObjectRef.immortalCount && dropReference(child) {
                        work.append(child)
                    }
                } else {
                    forEachReference(of: object) { child in
                        if child >= ObjectRef.immortalCount && dropReference(child) { work.append(child) }
                    }
                }
                if work.count - firstPending > 1 { work[firstPending...].reverse() }
                freePayload(of: object, shard: shard)
            }
            let size = object.blockSize
            counters.remove(kind: kind, bytes: SizeClass.footprint(size), shard: shard)
            allocator.free(object.base, size: size, shard: shard)
            table.release(current, shard: shard)
            next = work.popLast()
        }
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

    /// Frees a container's separately allocated payload (item array or hash table).
    func freePayload(of object: ObjectLayout, shard: Int) {
        switch object.kind {
        case .list:
            if object.listCapacity > ObjectLayout.listInlineCapacity {
                let size = object.listCapacity * 4
                counters.adjust(kind: .list, bytes: -SizeClass.footprint(size), shard: shard)
                allocator.free(object.listArrayPointer, size: size, shard: shard)
            }
        case .dict, .set, .object:
            if let storage = object.hashStorage {
                let size = HashStorage(base: storage).byteSize
                counters.adjust(kind: object.kind, bytes: -SizeClass.footprint(size), shard: shard)
                allocator.free(storage, size: size, shard: shard)
                object.hashStorage = nil
            }
        default:
            break
        }
    }
}
