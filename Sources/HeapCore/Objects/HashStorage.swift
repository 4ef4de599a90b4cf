import HeapImageFormat

/// The storage of a dict, set or instance attribute table: CPython's compact dict, in arena memory.
///
///     0: size UInt32 (index slots, a power of two; bit 31: general keys) · 4: used UInt32 (entries
///        written, deleted included)
///     8: indices Int32 × size   (-1 empty, -2 deleted, else an entry number)
///     8 + 4·size: entries (hash UInt32, key UInt32, value UInt32) × (2·size / 3)
///
/// Entries stay in insertion order, so iteration follows Python's dict order; a deleted entry keeps its
/// place with the key ``deletedKey`` until the next resize compacts the table. Keys and values are
/// slots of counted references owned by the table (a set stores ``noValue``).
struct HashStorage {
    let base: UnsafeMutableRawPointer

    static let empty: Int32 = -1
    static let dummy: Int32 = -2
    static let deletedKey = UInt32.max
    static let noValue = UInt32.max
    // The geometry is defined with the image format (``HashTableSize``), whose reader checks it.
    static var minimumSize: Int { HashTableSize.minimum }

    static func byteSize(size: Int) -> Int { HashTableSize.byteSize(size: size) }
    static func usable(size: Int) -> Int { HashTableSize.usable(size: size) }

    /// Formats fresh storage of `size` index slots at `base`.
    static func initialize(_ base: UnsafeMutableRawPointer, size: Int) -> HashStorage {
        base.storeBytes(of: UInt32(size), as: UInt32.self)
        base.storeBytes(of: 0, toByteOffset: 4, as: UInt32.self)
        (base + 8).initializeMemory(as: Int32.self, repeating: empty, count: size)
        return HashStorage(base: base)
    }

    var size: Int { Int(base.load(as: UInt32.self) & ~Self.generalKeysBit) }

    /// A dict that has held a key other than a `str` (CPython's `!DK_IS_UNICODE`): its traversal
    /// visits keys as well as values (``Heap/forEachTraversed(of:_:)``). Protocol commands only make
    /// `str` keys; the core's API takes any hashable key. Never cleared, as in CPython; kept by resizes.
    var hasGeneralKeys: Bool {
        get { base.load(as: UInt32.self) & Self.generalKeysBit != 0 }
        nonmutating set {
            let word = base.load(as: UInt32.self)
            base.storeBytes(of: newValue ? word | Self.generalKeysBit : word & ~Self.generalKeysBit, as: UInt32.self)
        }
    }
    private static let generalKeysBit: UInt32 = 1 << 31

    var used: Int {
        get { Int(base.load(fromByteOffset: 4, as: UInt32.self)) }
        nonmutating set { base.storeBytes(of: UInt32(newValue), toByteOffset: 4, as: UInt32.self) }
    }

    var byteSize: Int { Self.byteSize(size: size) }
    var isFull: Bool { used >= Self.usable(size: size) }

    private var indices: UnsafeMutablePointer<Int32> { (base + 8).assumingMemoryBound(to: Int32.self) }
    fileprivate var entryBase: UnsafeMutableRawPointer { base + 8 + 4 * size }

    func hash(at entry: Int) -> UInt32 { entryBase.load(fromByteOffset: entry * 12, as: UInt32.self) }
    func key(at entry: Int) -> UInt32 { entryBase.load(fromByteOffset: entry * 12 + 4, as: UInt32.self) }
    func value(at entry: Int) -> UInt32 { entryBase.load(fromByteOffset: entry * 12 + 8, as: UInt32.self) }

    func setValue(_ value: UInt32, at entry: Int) {
        entryBase.storeBytes(of: value, toByteOffset: entry * 12 + 8, as: UInt32.self)
    }

    /// Finds the entry whose key `matches`, probing from `hash`; returns its entry number and the index
    /// slot that points at it.
    func find(hash: UInt32, matches: (UInt32) -> Bool) -> (entry: Int, indexSlot: Int)? {
        let mask = size - 1
        var perturb = UInt(hash)
        var position = Int(hash) & mask
        // Invariant: the table always has an empty index slot (used < size), so the probe ends.
        while true {
            let index = indices[position]
            if index == Self.empty { return nil }
            if index >= 0 {
                let entry = Int(index)
                if self.hash(at: entry) == hash && key(at: entry) != Self.deletedKey && matches(key(at: entry)) {
                    return (entry, position)
                }
            }
            perturb >>= 5
            position = (position &* 5 &+ 1 &+ Int(truncatingIfNeeded: perturb)) & mask
        }
    }

    /// Appends a new entry; the caller checked the key is absent and the table is not full.
    func insert(hash: UInt32, key: UInt32, value: UInt32) {
        let entry = used
        entryBase.storeBytes(of: hash, toByteOffset: entry * 12, as: UInt32.self)
        entryBase.storeBytes(of: key, toByteOffset: entry * 12 + 4, as: UInt32.self)
        entryBase.storeBytes(of: value, toByteOffset: entry * 12 + 8, as: UInt32.self)
        let mask = size - 1
        var perturb = UInt(hash)
        var position = Int(hash) & mask
        while indices[position] >= 0 {
            perturb >>= 5
            position = (position &* 5 &+ 1 &+ Int(truncatingIfNeeded: perturb)) & mask
        }
        indices[position] = Int32(entry)
        used = entry + 1
    }

    /// Marks an entry deleted; the caller releases its key and value.
    func remove(entry: Int, indexSlot: Int) {
        indices[indexSlot] = Self.dummy
        entryBase.storeBytes(of: Self.deletedKey, toByteOffset: entry * 12 + 4, as: UInt32.self)
    }

    /// Calls `body` with (key, value) of every live entry, in insertion order.
    func forEach(_ body: (UInt32, UInt32) throws -> Void) rethrows {
        for entry in 0..<used where key(at: entry) != Self.deletedKey {
            try body(key(at: entry), value(at: entry))
        }
    }

    /// Copies the live entries into `target` (fresh, large enough), in order, and the general-keys mark.
    func copyLive(into target: HashStorage) {
        target.hasGeneralKeys = hasGeneralKeys
        for entry in 0..<used where key(at: entry) != Self.deletedKey {
            target.insert(hash: hash(at: entry), key: key(at: entry), value: value(at: entry))
        }
    }

    /// The index size for a table that must hold `count` live entries with room to grow.
    static func sizeFor(count: Int) -> Int {
        var size = minimumSize
        while usable(size: size) <= count * 3 / 2 + 1 { size <<= 1 }
        return size
    }
}

extension HashStorage {
    /// Appends an entry that is already deleted (a restored table keeps its deleted entries, so that
    /// entry numbers, which a dict iterator's position counts, stay the same); the index is untouched.
    func appendDeleted() {
        let entry = used
        entryBase.storeBytes(of: 0, toByteOffset: entry * 12, as: UInt32.self)
        entryBase.storeBytes(of: Self.deletedKey, toByteOffset: entry * 12 + 4, as: UInt32.self)
        entryBase.storeBytes(of: Self.noValue, toByteOffset: entry * 12 + 8, as: UInt32.self)
        used = entry + 1
    }
}
