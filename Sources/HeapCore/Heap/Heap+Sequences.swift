/// Lists and tuples: Python's sequence operations.
///
/// Every mutation takes the list's own lock for the few instructions that touch its body, and drops
/// replaced references only after unlocking, so a cascade of frees never runs under a container lock.
extension Heap {
    /// Grows a list's item array for one more item than it has room for (caller holds the list's lock or
    /// owns it), over-allocating as CPython's `list_resize` does, so that the capacity is always CPython's
    /// `allocated` and `SIZEOF` can answer what `sys.getsizeof` would (``CPythonSize/listGrowth(to:)``).
    /// Returns false, leaving the list as it was, when the memory cap or the OS refuses.
    func growList(_ object: ObjectLayout, to needed: Int, shard: Int) -> Bool {
        // `holding: needed`: the item about to be added must have a place (a list of two inline items
        // growing to CPython's 4 moves them into an array; inline there is room for two only).
        resizeList(object, capacity: max(needed, CPythonSize.listGrowth(to: needed)), holding: needed, shard: shard)
    }

    /// Sets a list's capacity (CPython's `allocated`) to `capacity`: its items move into an array of
    /// exactly that many, or inline when they fit there and the capacity is one CPython's first append
    /// or a small display gives (at most 4); false, leaving the list as it was, when memory is refused.
    ///
    /// `holding`: how many items the list will hold right after (a new list filled by its caller);
    /// by default the items it has.
    func resizeList(_ object: ObjectLayout, capacity: Int, holding: Int? = nil, shard: Int) -> Bool {
        let oldCapacity = object.listCapacity
        let count = object.count
        precondition(capacity >= max(count, holding ?? 0), "a list's item array cannot be cut below its items")
        guard capacity != oldCapacity else { return true }
        guard capacity <= Int(UInt32.max) / 8 - 16 else { return false }
        let inline =
            max(count, holding ?? 0) <= ObjectLayout.listInlineCapacity
            && capacity <= ObjectLayout.listInlineMaxAllocated
        return placeListItems(object, capacity: capacity, inline: inline, shard: shard)
    }

    /// A list whose items are inline and fill the inline slots, gaining one more within its capacity:
    /// its items move into an array of ``ObjectLayout/listCapacity`` items.
    func spillListItems(_ object: ObjectLayout, shard: Int) -> Bool {
        placeListItems(object, capacity: object.listCapacity, inline: false, shard: shard)
    }

    /// Puts a list's items inline or into a new array of `capacity`, freeing the old array; sets the
    /// capacity. False, leaving the list as it was, when memory is refused.
    private func placeListItems(_ object: ObjectLayout, capacity: Int, inline: Bool, shard: Int) -> Bool {
        let count = object.count
        let oldCapacity = object.listCapacity
        let oldItems = object.listItems
        let oldArray = object.listHasArray ? object.listArrayPointer : nil
        if !inline {
            guard let block = allocator.allocate(size: capacity * 4, shard: shard) else { return false }
            block.assumingMemoryBound(to: UInt32.self).update(from: oldItems, count: count)
            object.listArrayPointer = block
            object.listHasArray = true
            counters.adjust(kind: .list, bytes: SizeClass.footprint(capacity * 4), shard: shard)
        } else if let oldArray {
            // Back to the inline slots, which the array pointer occupies.
            var items: (UInt32, UInt32) = (0, 0)
            withUnsafeMutableBytes(of: &items) { $0.baseAddress!.copyMemory(from: oldArray, byteCount: count * 4) }
            withUnsafeBytes(of: items) { (object.base + 24).copyMemory(from: $0.baseAddress!, byteCount: 8) }
            object.listHasArray = false
        }
        object.listCapacity = capacity
        if let oldArray {
            counters.adjust(kind: .list, bytes: -SizeClass.footprint(oldCapacity * 4), shard: shard)
            allocator.free(oldArray, size: oldCapacity * 4, shard: shard)
        }
        return true
    }

    /// Makes room for one more item (caller holds the list's lock or owns it): grows the capacity as
    /// CPython does when it is full, or moves inline items into an array when the inline slots are.
    @inline(__always)
    func makeRoomForOneMore(_ object: ObjectLayout, shard: Int) -> Bool {
        let count = object.count
        if count == object.listCapacity { return growList(object, to: count + 1, shard: shard) }
        if !object.listHasArray && count == ObjectLayout.listInlineCapacity {
            return spillListItems(object, shard: shard)
        }
        return true
    }

    /// After an item left a list of `count` items: cuts its array as CPython's `list_resize` does once the
    /// list is under half of it (a refused smaller array keeps the larger one).
    func shrinkListIfSparse(_ object: ObjectLayout, shard: Int) {
        let capacity = CPythonSize.listAfterRemoval(newSize: object.count, allocated: object.listCapacity)
        if capacity != object.listCapacity { _ = resizeList(object, capacity: capacity, shard: shard) }
    }

    private func requireKind(_ ref: ObjectRef, _ kinds: ObjectKind..., operation: String) throws(HeapError)
        -> ObjectLayout
    {
        let object = layout(ref)
        guard kinds.contains(object.kind) else { throw HeapError.wrongType(operation, typeName(of: ref)) }
        return object
    }

    /// Normalizes a Python index (negative counts from the end) or throws `INDEX`.
    private func normalize(_ index: Int, count: Int, what: String) throws(HeapError) -> Int {
        let position = index < 0 ? index + count : index
        guard position >= 0, position < count else { throw HeapError(.index, "\(what) index out of range") }
        return position
    }

    /// `list.append(item)` (item borrowed).
    public func append(_ list: ObjectRef, _ item: ObjectRef, shard: Int = 0) throws(HeapError) {
        let object = try requireKind(list, .list, operation: "append")
        retain(item)
        try appendTaking(object, item, shard: shard)
    }

    /// Appends `item` to a list, taking over the caller's reference (growing the item array under the
    /// list's lock); when the memory for that is refused, releases the reference and throws `LIMIT`.
    func appendTaking(_ object: ObjectLayout, _ item: ObjectRef, shard: Int) throws(HeapError) {
        let appended = object.lock.withLock { () -> Bool in
            willMutate(object.slot)
            let count = object.count
            if !makeRoomForOneMore(object, shard: shard) { return false }
            object.listItems[count] = item.slot
            object.count = count + 1
            return true
        }
        guard appended else {
            release(item, shard: shard)
            throw outOfMemory((object.count + 1) * 4)
        }
    }

    /// `list.insert(index, item)` (item borrowed).
    public func insert(_ list: ObjectRef, at index: Int, _ item: ObjectRef, shard: Int = 0) throws(HeapError) {
        let object = try requireKind(list, .list, operation: "insert")
        retain(item)
        let inserted = object.lock.withLock { () -> Bool in
            willMutate(object.slot)
            let count = object.count
            let position = index < 0 ? max(0, index + count) : min(index, count)
            if !makeRoomForOneMore(object, shard: shard) { return false }
            let items = object.listItems
            var cursor = count
            while cursor > position {
                items[cursor] = items[cursor - 1]
                cursor -= 1
            }
            items[position] = item.slot
            object.count = count + 1
            return true
        }
        guard inserted else {
            release(item, shard: shard)
            throw outOfMemory((object.count + 1) * 4)
        }
    }

    /// `seq[index]` for a list or tuple: returns a new reference.
    public func item(_ sequence: ObjectRef, at index: Int) throws(HeapError) -> ObjectRef {
        let object = try requireKind(sequence, .list, .tuple, operation: "indexing")
        if object.kind == .tuple {
            let position = try normalize(index, count: object.count, what: "tuple")
            let item = ObjectRef(slot: object.tupleItems[position])
            retain(item)
            return item
        }
        return try object.lock.withLock { () throws(HeapError) -> ObjectRef in
            let position = try normalize(index, count: object.count, what: "list")
            let item = ObjectRef(slot: object.listItems[position])
            retain(item)
            return item
        }
    }

    /// `list[index] = value` (value borrowed).
    public func setItem(_ list: ObjectRef, at index: Int, _ value: ObjectRef, shard: Int = 0) throws(HeapError) {
        let object = try requireKind(list, .list, operation: "item assignment")
        retain(value)
        let old: UInt32
        do {
            old = try object.lock.withLock { () throws(HeapError) -> UInt32 in
                willMutate(object.slot)
                let position = try normalize(index, count: object.count, what: "list assignment")
                let old = object.listItems[position]
                object.listItems[position] = value.slot
                return old
            }
        } catch {
            release(value, shard: shard)
            throw error
        }
        release(ObjectRef(slot: old), shard: shard)
    }

    /// `list.pop(index)`: removes the item and hands its reference to the caller.
    public func pop(_ list: ObjectRef, at index: Int = -1, shard: Int = 0) throws(HeapError) -> ObjectRef {
        let object = try requireKind(list, .list, operation: "pop")
        return try object.lock.withLock { () throws(HeapError) -> ObjectRef in
            willMutate(object.slot)
            let count = object.count
            guard count > 0 else { throw HeapError(.index, "pop from empty list") }
            let position = try normalize(index, count: count, what: "pop")
            let items = object.listItems
            let removed = items[position]
            for cursor in position..<(count - 1) { items[cursor] = items[cursor + 1] }
            object.count = count - 1
            shrinkListIfSparse(object, shard: shard)
            return ObjectRef(slot: removed)
        }
    }

    /// `del list[index]`.
    public func deleteItem(_ list: ObjectRef, at index: Int, shard: Int = 0) throws(HeapError) {
        let removed = try pop(list, at: index, shard: shard)
        release(removed, shard: shard)
    }

    /// A snapshot of a list's or tuple's items, each retained: release them when done.
    public func items(of sequence: ObjectRef) throws(HeapError) -> [ObjectRef] {
        let object = try requireKind(sequence, .list, .tuple, operation: "iteration")
        let read = { () -> [ObjectRef] in
            object.sequenceItems.map { slot in
                let item = ObjectRef(slot: slot)
                self.retain(item)
                return item
            }
        }
        return object.kind == .tuple ? read() : object.lock.withLock(read)
    }
}
