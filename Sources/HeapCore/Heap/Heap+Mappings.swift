#if canImport(Glibc)
    import Glibc
#endif

/// Dicts, sets and instance attributes: hashing, equality and the hash-table operations.
extension Heap {
    // MARK: Hashing and equality, as Python defines them for the hashable types

    /// `hash(x)` truncated to 32 bits; throws `TYPE` for lists, dicts and sets (and tuples holding them).
    func hashValue(_ ref: ObjectRef) throws(HeapError) -> UInt32 {
        let object = layout(ref)
        switch object.kind {
        case .none: return 0x9E37_79B9
        case .bool: return Self.mix(ref == .true ? 1 : 0)
        case .int: return Self.mix(UInt64(bitPattern: object.intValue))
        case .float:
            let value = object.floatValue
            // Equal numbers hash equal across int, float and bool, as in Python.
            if value.rounded() == value, abs(value) < 9.2e18 { return Self.mix(UInt64(bitPattern: Int64(value))) }
            return Self.mix(value.bitPattern)
        case .str, .bytes:
            return Self.hashBytes(UnsafeRawBufferPointer(object.bytes), seed: object.kind == .str ? 1 : 2)
        case .tuple:
            var hash: UInt32 = 0x345678
            for item in object.sequenceItems {
                hash = (hash ^ (try hashValue(ObjectRef(slot: item)))) &* 1_000_003
            }
            return hash
        case .object, .weakref, .generator: return Self.mix(UInt64(ref.slot))
        case .list, .dict, .set: throw HeapError(.type, "unhashable type: '\(object.kind)'")
        }
    }

    static func mix(_ value: UInt64) -> UInt32 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return UInt32(truncatingIfNeeded: z ^ (z >> 31))
    }

    static func hashBytes(_ bytes: UnsafeRawBufferPointer, seed: UInt64) -> UInt32 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return UInt32(truncatingIfNeeded: hash ^ (hash >> 32))
    }

    /// `a == b` for hashing purposes: numbers by value, str and bytes by content, tuples item by item,
    /// everything else by identity.
    func keysEqual(_ a: UInt32, _ b: UInt32) -> Bool {
        if a == b { return true }
        let left = layout(a)
        let right = layout(b)
        switch (left.kind, right.kind) {
        case (.str, .str), (.bytes, .bytes):
            return left.byteCount == right.byteCount
                && (left.byteCount == 0
                    || memcmp(left.bytes.baseAddress!, right.bytes.baseAddress!, left.byteCount) == 0)
        case (.tuple, .tuple):
            guard left.count == right.count else { return false }
            return zip(left.sequenceItems, right.sequenceItems).allSatisfy { keysEqual($0, $1) }
        default:
            guard let x = numericValue(a), let y = numericValue(b) else { return false }
            return x == y
        }
    }

    private func numericValue(_ slot: UInt32) -> Double? {
        let object = layout(slot)
        switch object.kind {
        case .bool: return slot == ObjectRef.true.slot ? 1 : 0
        case .int: return Double(object.intValue)
        case .float: return object.floatValue
        default: return nil
        }
    }

    private func strMatcher(_ key: [UInt8]) -> (UInt32) -> Bool {
        { slot in
            let object = self.layout(slot)
            return object.kind == .str && object.byteCount == key.count
                && key.withUnsafeBytes { $0.elementsEqual(UnsafeRawBufferPointer(object.bytes)) }
        }
    }

    // MARK: The table operations (caller holds the container's lock)

    /// Makes room for one more entry, growing or compacting the storage; throws `LIMIT` (leaving the
    /// table as it was) when the memory cap or the OS refuses.
    private func reserveEntry(_ object: ObjectLayout, shard: Int) throws(HeapError) {
        if let base = object.hashStorage, !HashStorage(base: base).isFull { return }
        let newSize = HashStorage.sizeFor(count: object.count + 1)
        let bytes = HashStorage.byteSize(size: newSize)
        guard let block = allocator.allocate(size: bytes, shard: shard) else { throw outOfMemory(bytes) }
        let fresh = HashStorage.initialize(block, size: newSize)
        counters.adjust(kind: object.kind, bytes: SizeClass.footprint(bytes), shard: shard)
        if let old = object.hashStorage {
            let storage = HashStorage(base: old)
            storage.copyLive(into: fresh)
            counters.adjust(kind: object.kind, bytes: -SizeClass.footprint(storage.byteSize), shard: shard)
            allocator.free(old, size: storage.byteSize, shard: shard)
        }
        object.hashStorage = fresh.base
    }

    /// Stores `value` under `key` (both borrowed); returns the replaced value's slot, if any. Throws
    /// `LIMIT`, storing nothing, when a new entry needs memory that is refused.
    private func store(
        _ object: ObjectLayout, key: ObjectRef, hash: UInt32, value: UInt32, shard: Int,
        attribute name: String? = nil
    ) throws(HeapError) -> UInt32? {
        willMutate(object.slot)
        if let base = object.hashStorage,
            let found = HashStorage(base: base).find(hash: hash, matches: { keysEqual($0, key.slot) })
        {
            let storage = HashStorage(base: base)
            let old = storage.value(at: found.entry)
            storage.setValue(value, at: found.entry)
            maintainTracking(object, key: key.slot, value: value)
            return old
        }
        try reserveEntry(object, shard: shard)
        if let name { placeAttribute(name, in: object) }
        retain(key)
        let table = HashStorage(base: object.hashStorage!)
        table.insert(hash: hash, key: key.slot, value: value)
        if object.kind == .dict && layout(key).kind != .str { table.hasGeneralKeys = true }
        object.count += 1
        maintainTracking(object, key: key.slot, value: value)
        return nil
    }

    /// Stores a counted reference to `value` under `key` (both borrowed) under the container's lock,
    /// and releases the value it replaced after unlocking; on `LIMIT` nothing is stored or kept.
    private func storeValue(
        _ object: ObjectLayout, key: ObjectRef, hash: UInt32, value: ObjectRef, shard: Int,
        attribute name: String? = nil
    ) throws(HeapError) {
        retain(value)
        let old: UInt32?
        do {
            old = try object.lock.withLock { () throws(HeapError) -> UInt32? in
                try store(object, key: key, hash: hash, value: value.slot, shard: shard, attribute: name)
            }
        } catch {
            release(value, shard: shard)
            throw error
        }
        if let old { release(ObjectRef(slot: old), shard: shard) }
    }

    /// A dict starts untracked and becomes tracked once it holds something the collector may need to
    /// see (CPython's `MAINTAIN_TRACKING`); the caller holds the dict's lock.
    private func maintainTracking(_ object: ObjectLayout, key: UInt32, value: UInt32) {
        guard object.kind == .dict, !object.isTracked else { return }
        if mayBeTracked(key) || (value != HashStorage.noValue && mayBeTracked(value)) {
            generations.trackExisting(object.slot)
        }
    }

    /// CPython's `_PyObject_GC_MAY_BE_TRACKED`: a container that is not an untracked tuple.
    func mayBeTracked(_ slot: UInt32) -> Bool {
        guard slot >= ObjectRef.immortalCount else { return false }
        let object = layout(slot)
        return object.kind.isContainer && (object.kind != .tuple || object.isTracked)
    }

    /// Removes the entry matching; returns its (key, value) slots for the caller to release.
    private func remove(_ object: ObjectLayout, hash: UInt32, matches: (UInt32) -> Bool) -> (UInt32, UInt32)? {
        willMutate(object.slot)
        guard let base = object.hashStorage else { return nil }
        let storage = HashStorage(base: base)
        guard let found = storage.find(hash: hash, matches: matches) else { return nil }
        let pair = (storage.key(at: found.entry), storage.value(at: found.entry))
        storage.remove(entry: found.entry, indexSlot: found.indexSlot)
        object.count -= 1
        return pair
    }

    private func lookup(_ object: ObjectLayout, hash: UInt32, matches: (UInt32) -> Bool) -> UInt32? {
        guard let base = object.hashStorage else { return nil }
        let storage = HashStorage(base: base)
        return storage.find(hash: hash, matches: matches).map { storage.value(at: $0.entry) }
    }

    private func releaseSlots(_ slots: [UInt32], shard: Int) {
        for slot in slots where slot != HashStorage.noValue { release(ObjectRef(slot: slot), shard: shard) }
    }

    private func mapping(_ ref: ObjectRef, _ kinds: ObjectKind..., operation: String) throws(HeapError) -> ObjectLayout
    {
        let object = layout(ref)
        guard kinds.contains(object.kind) else { throw HeapError.wrongType(operation, typeName(of: ref)) }
        return object
    }

    // MARK: dict

    /// `d[key] = value` with an object key (both borrowed).
    public func setItem(_ dict: ObjectRef, key: ObjectRef, _ value: ObjectRef, shard: Int = 0) throws(HeapError) {
        let object = try mapping(dict, .dict, operation: "item assignment")
        let hash = try hashValue(key)
        try storeValue(object, key: key, hash: hash, value: value, shard: shard)
    }

    /// `d["key"] = value`.
    public func setItem(_ dict: ObjectRef, key: String, _ value: ObjectRef, shard: Int = 0) throws(HeapError) {
        _ = try mapping(dict, .dict, operation: "item assignment")
        let keyRef = try makeStr(key, shard: shard)
        defer { release(keyRef, shard: shard) }
        try setItem(dict, key: keyRef, value, shard: shard)
    }

    /// `d["key"]`: a new reference, or `KEY`.
    public func item(_ dict: ObjectRef, key: String) throws(HeapError) -> ObjectRef {
        let object = try mapping(dict, .dict, operation: "subscripting by key")
        let bytes = Array(key.utf8)
        let hash = bytes.withUnsafeBytes { Self.hashBytes($0, seed: 1) }
        let matches = strMatcher(bytes)
        let found = object.lock.withLock { () -> UInt32? in
            guard let slot = lookup(object, hash: hash, matches: matches) else { return nil }
            retain(ObjectRef(slot: slot))
            return slot
        }
        guard let found else { throw HeapError(.key, "'\(key)'") }
        return ObjectRef(slot: found)
    }

    /// `del d["key"]`.
    public func deleteItem(_ dict: ObjectRef, key: String, shard: Int = 0) throws(HeapError) {
        let object = try mapping(dict, .dict, operation: "item deletion")
        try deleteEntry(object, name: key, error: HeapError(.key, "'\(key)'"), shard: shard)
    }

    private func deleteEntry(_ object: ObjectLayout, name: String, error: HeapError, shard: Int) throws(HeapError) {
        let bytes = Array(name.utf8)
        let hash = bytes.withUnsafeBytes { Self.hashBytes($0, seed: 1) }
        let matches = strMatcher(bytes)
        guard let (key, value) = object.lock.withLock({ remove(object, hash: hash, matches: matches) }) else {
            throw error
        }
        releaseSlots([key, value], shard: shard)
    }

    /// The keys of a dict or instance (as str references, retained) in insertion order.
    public func keys(of ref: ObjectRef) throws(HeapError) -> [ObjectRef] {
        try entries(of: ref).map { entry in
            if let value = entry.value { release(value) }
            return entry.key
        }
    }

    /// Every (key, value) of a dict, set (value nil) or instance, retained, in order.
    public func entries(of ref: ObjectRef) throws(HeapError) -> [(key: ObjectRef, value: ObjectRef?)] {
        let object = try mapping(ref, .dict, .set, .object, operation: "iteration")
        return object.lock.withLock {
            var result: [(key: ObjectRef, value: ObjectRef?)] = []
            result.reserveCapacity(object.count)
            if let base = object.hashStorage {
                HashStorage(base: base).forEach { key, value in
                    retain(ObjectRef(slot: key))
                    let valueRef = value == HashStorage.noValue ? nil : ObjectRef(slot: value)
                    if let valueRef { retain(valueRef) }
                    result.append((ObjectRef(slot: key), valueRef))
                }
            }
            return result
        }
    }

    // MARK: set

    /// `s.add(item)` (borrowed); throws `TYPE` for an unhashable item.
    public func add(_ set: ObjectRef, _ item: ObjectRef, shard: Int = 0) throws(HeapError) {
        let object = try mapping(set, .set, operation: "add")
        let hash = try hashValue(item)
        _ = try object.lock.withLock { () throws(HeapError) -> UInt32? in
            try store(object, key: item, hash: hash, value: HashStorage.noValue, shard: shard)
        }
    }

    /// `s.remove(item)` (throws `KEY` when absent) or `s.discard(item)` (`mustExist: false`).
    public func remove(_ set: ObjectRef, _ item: ObjectRef, mustExist: Bool, shard: Int = 0) throws(HeapError) {
        let object = try mapping(set, .set, operation: "remove")
        let hash = try hashValue(item)
        let removed = object.lock.withLock { remove(object, hash: hash, matches: { keysEqual($0, item.slot) }) }
        guard let removed else {
            if mustExist { throw HeapError(.key, repr(item, maxDepth: 1)) }
            return
        }
        releaseSlots([removed.0], shard: shard)
    }

    // MARK: Attributes

    private func instance(_ ref: ObjectRef, operation: String) throws(HeapError) -> ObjectLayout {
        try mapping(ref, .object, operation: operation)
    }

    private func noAttribute(_ ref: ObjectRef, _ name: String) -> HeapError {
        HeapError(.key, "'\(typeName(of: ref))' object has no attribute '\(name)'")
    }

    /// `setattr(obj, name, value)` (value borrowed).
    public func setAttribute(_ ref: ObjectRef, _ name: String, _ value: ObjectRef, shard: Int = 0) throws(HeapError) {
        let object = try instance(ref, operation: "attribute assignment")
        let key = try makeStr(name, shard: shard)
        defer { release(key, shard: shard) }
        let hash = try hashValue(key)
        try storeValue(object, key: key, hash: hash, value: value, shard: shard, attribute: name)
    }

    /// Under the instance's lock, before a name new to it is appended to its table: notes where
    /// CPython keeps the value (``SharedKeys``). A name the class's keys cannot take makes the instance
    /// combined; one whose shared index is below the last live attribute's makes it unsorted.
    private func placeAttribute(_ name: String, in object: ObjectLayout) {
        let order = object.attributeOrder
        guard order != .combined else { return }  // its own dict: the class's keys are not consulted
        let className = strValue(object.className)
        guard let index = sharedKeys.index(of: name, in: className) else {
            object.setExtraFlags(ObjectLayout.combinedAttributesFlag)
            return
        }
        guard order == .shared else { return }
        var last: UInt32?
        if let storage = object.hashStorage { HashStorage(base: storage).forEach { key, _ in last = key } }
        guard let last else { return }
        // Invariant while shared: the live attributes' shared indexes ascend, so the last is the highest.
        if sharedKeys.indexes(of: [strValue(last)], in: className)[0] > index {
            object.setExtraFlags(ObjectLayout.unsortedAttributesFlag)
        }
    }

    /// `getattr(obj, name)`: a new reference, or `KEY` (Python's `AttributeError`).
    public func attribute(_ ref: ObjectRef, _ name: String) throws(HeapError) -> ObjectRef {
        let object = try instance(ref, operation: "attributes")
        let bytes = Array(name.utf8)
        let hash = bytes.withUnsafeBytes { Self.hashBytes($0, seed: 1) }
        let matches = strMatcher(bytes)
        let found = object.lock.withLock { () -> UInt32? in
            guard let slot = lookup(object, hash: hash, matches: matches) else { return nil }
            retain(ObjectRef(slot: slot))
            return slot
        }
        guard let found else { throw noAttribute(ref, name) }
        return ObjectRef(slot: found)
    }

    /// `delattr(obj, name)`.
    public func deleteAttribute(_ ref: ObjectRef, _ name: String, shard: Int = 0) throws(HeapError) {
        let object = try instance(ref, operation: "attribute deletion")
        try deleteEntry(object, name: name, error: noAttribute(ref, name), shard: shard)
    }

    // MARK: Any container

    /// `len(x)` for str, bytes and containers.
    public func length(of ref: ObjectRef) throws(HeapError) -> Int {
        let object = layout(ref)
        switch object.kind {
        case .str: return String(decoding: object.bytes, as: UTF8.self).count
        case .bytes: return object.byteCount
        case .tuple: return object.count
        case .list, .dict, .set, .object: return object.lock.withLock { object.count }
        default: throw HeapError(.wrongType, "object of type '\(typeName(of: ref))' has no len()")
        }
    }

    /// `x.clear()` for lists, dicts and sets (and an instance's `__dict__.clear()`).
    public func clear(_ ref: ObjectRef, shard: Int = 0) throws(HeapError) {
        let object = try mapping(ref, .list, .dict, .set, .object, operation: "clear")
        var dropped: [UInt32] = []
        object.lock.withLock {
            willMutate(object.slot)
            if object.kind == .list {
                // Last to first, as CPython's _list_clear: which items die first decides which weakref
                // callbacks run.
                dropped = Array(UnsafeBufferPointer(start: object.listItems, count: object.count).reversed())
                object.count = 0
                // As `list.clear()`: the item array goes (CPython's `allocated` becomes 0).
                _ = resizeList(object, capacity: 0, shard: shard)
            } else if let base = object.hashStorage {
                HashStorage(base: base).forEach { key, value in
                    dropped.append(key)
                    dropped.append(value)
                }
                freePayload(of: object, shard: shard)
                object.count = 0
            }
        }
        releaseSlots(dropped, shard: shard)
    }

    /// `item in container`: by equality for lists and tuples, by hash for sets, by key for dicts.
    public func contains(_ container: ObjectRef, _ item: ObjectRef) throws(HeapError) -> Bool {
        let object = layout(container)
        switch object.kind {
        case .list, .tuple:
            let items = try items(of: container)
            defer { for item in items { release(item) } }
            return items.contains { keysEqual($0.slot, item.slot) }
        case .set, .dict:
            let hash = try hashValue(item)
            return object.lock.withLock {
                guard let base = object.hashStorage else { return false }
                return HashStorage(base: base).find(hash: hash, matches: { keysEqual($0, item.slot) }) != nil
            }
        default:
            throw HeapError(.wrongType, "argument of type '\(typeName(of: container))' is not a container")
        }
    }

    /// `"key" in d` for dicts and `hasattr` for instances.
    public func contains(_ container: ObjectRef, key: String) throws(HeapError) -> Bool {
        let object = try mapping(container, .dict, .object, operation: "key lookup")
        let bytes = Array(key.utf8)
        let hash = bytes.withUnsafeBytes { Self.hashBytes($0, seed: 1) }
        let matches = strMatcher(bytes)
        return object.lock.withLock { lookup(object, hash: hash, matches: matches) != nil }
    }
}
