import HeapImageFormat
import Synchronization

/// Typed access to the fields of an object block in arena memory.
///
/// Every object starts with an 8-byte header; containers add the collector's links; the body follows.
///
///     offset  0        4      5       6      7        8          12         16
///             +--------+------+-------+------+--------+----------+----------+------ body ...
///     all:    | slot   | kind | flags | lock | unused |  atomic body (int, float, str, bytes)
///     tracked:| slot   | kind | flags | lock | unused | gc prev  | gc next  | container body
///             +--------+------+-------+------+--------+----------+----------+------
///
///     flags:  bit 0 tracked · bits 1-2 generation (3 = permanent, after freeze) · bit 3 has `__del__`
///             bit 4 legacy finalizer (`tp_del`) · bit 5 finalized (PEP 442) · bit 6 reachable (collector
///             scratch) · bit 7 unreachable-candidate (collector scratch)
///
/// Bodies (offsets from the block start):
///
///     int, float   8: Int64 / Double                                            16 bytes
///     str, bytes   8: length UInt32 · 12: the bytes                          12 + n bytes
///     list        16: count UInt32 · 20: capacity UInt32 · 24: items         32 bytes
///                     (capacity ≤ 2: two UInt32 slots inline; else a pointer to an item array)
///     tuple       16: count UInt32 · 20: items inline (UInt32 slots)      20 + 4n bytes
///     dict, set   16: count UInt32 · 20: unused · 24: hash table storage     32 bytes
///     object      16: count UInt32 · 20: class name (str slot) · 24: storage 32 bytes
///     generator   16: source slot UInt32 (noLink: none or dropped) · 20: mode UInt8 · 24: position Int64
///                 · 32: step Int64 · 40: remaining UInt64 (range) / expected size (dict, set)  48 bytes
///
/// Slots, not addresses, are stored everywhere: references survive any move of payload arrays, and a
/// 4-byte slot halves the size of every item array. This struct is the one place that reads and writes
/// object fields by offset; its callers hold a reference to the object (or the heap to themselves).
@usableFromInline
struct ObjectLayout {
    @usableFromInline let base: UnsafeMutableRawPointer

    @inlinable
    init(_ base: UnsafeMutableRawPointer) {
        self.base = base
    }

    static let headerSize = 8
    static let containerHeaderSize = 16
    static let noLink = UInt32.max

    // MARK: Header

    var slot: UInt32 {
        get { base.load(as: UInt32.self) }
        nonmutating set { base.storeBytes(of: newValue, as: UInt32.self) }
    }

    var kind: ObjectKind {
        // Every free path reads the kind: a range check and a bit cast, where `init(rawValue:)` is a
        // call through a switch (3% of freeing a chain). A value past the last case reads as `.none`.
        get {
            let raw = base.load(fromByteOffset: 4, as: UInt8.self)
            return raw <= ObjectKind.generator.rawValue ? unsafeBitCast(raw, to: ObjectKind.self) : .none
        }
        nonmutating set { base.storeBytes(of: newValue.rawValue, toByteOffset: 4, as: UInt8.self) }
    }

    var rawKind: UInt8 { base.load(fromByteOffset: 4, as: UInt8.self) }

    var flags: UInt8 {
        get { base.load(fromByteOffset: 5, as: UInt8.self) }
        nonmutating set { base.storeBytes(of: newValue, toByteOffset: 5, as: UInt8.self) }
    }

    /// The per-object lock guarding a container's body against concurrent mutators.
    var lock: SpinLock {
        SpinLock((base + 6).assumingMemoryBound(to: Atomic<UInt8>.self))
    }

    /// Writes a fresh header.
    func initializeHeader(slot: UInt32, kind: ObjectKind) {
        base.storeBytes(of: slot, as: UInt32.self)
        base.storeBytes(of: kind.rawValue, toByteOffset: 4, as: UInt8.self)
        base.storeBytes(of: 0, toByteOffset: 5, as: UInt8.self)
        (base + 6).initializeMemory(as: Atomic<UInt8>.self, to: Atomic<UInt8>(0))
        base.storeBytes(of: 0, toByteOffset: 7, as: UInt8.self)
        if kind.isContainer {
            gcPrev = Self.noLink
            gcNext = Self.noLink
        }
    }

    // MARK: Flags

    // The bits an image keeps are defined with the image format (``ObjectFlags``); the collector's
    // scratch bits are the heap's own.
    static var trackedFlag: UInt8 { ObjectFlags.tracked }
    static var generationShift: UInt8 { ObjectFlags.generationShift }
    static var generationMask: UInt8 { ObjectFlags.generationMask }
    static var finalizerFlag: UInt8 { ObjectFlags.finalizer }
    static var legacyFinalizerFlag: UInt8 { ObjectFlags.legacyFinalizer }
    static var finalizedFlag: UInt8 { ObjectFlags.finalized }
    static let reachableFlag: UInt8 = 1 << 6
    static let candidateFlag: UInt8 = 1 << 7

    func hasFlag(_ flag: UInt8) -> Bool { flags & flag != 0 }

    func setFlag(_ flag: UInt8, _ on: Bool) {
        flags = on ? flags | flag : flags & ~flag
    }

    var isTracked: Bool { hasFlag(Self.trackedFlag) }

    /// The collector generation (0, 1, 2, or 3 for the permanent generation) of a tracked object.
    var generation: Int {
        get { Int((flags & Self.generationMask) >> Self.generationShift) }
        nonmutating set {
            flags = (flags & ~Self.generationMask) | (UInt8(newValue) << Self.generationShift & Self.generationMask)
        }
    }

    // MARK: Collector links (containers only)

    var gcPrev: UInt32 {
        get { base.load(fromByteOffset: 8, as: UInt32.self) }
        nonmutating set { base.storeBytes(of: newValue, toByteOffset: 8, as: UInt32.self) }
    }

    var gcNext: UInt32 {
        get { base.load(fromByteOffset: 12, as: UInt32.self) }
        nonmutating set { base.storeBytes(of: newValue, toByteOffset: 12, as: UInt32.self) }
    }

    // MARK: Atomic bodies

    var intValue: Int64 {
        get { base.load(fromByteOffset: 8, as: Int64.self) }
        nonmutating set { base.storeBytes(of: newValue, toByteOffset: 8, as: Int64.self) }
    }

    var floatValue: Double {
        get { base.load(fromByteOffset: 8, as: Double.self) }
        nonmutating set { base.storeBytes(of: newValue, toByteOffset: 8, as: Double.self) }
    }

    static var bytesHeader: Int { ObjectSize.bytesHeader }

    var byteCount: Int {
        get { Int(base.load(fromByteOffset: 8, as: UInt32.self)) }
        nonmutating set { base.storeBytes(of: UInt32(newValue), toByteOffset: 8, as: UInt32.self) }
    }

    var bytes: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: base + Self.bytesHeader, count: byteCount)
    }

    /// Header byte 7: bit 0 set while weak references point at the object; bit 1 collector scratch
    /// (mark_alive), clear outside a collection; bits 2-3 an instance's ``attributeOrder``.
    var extraFlags: UInt8 {
        get { base.load(fromByteOffset: 7, as: UInt8.self) }
        nonmutating set { base.storeBytes(of: newValue, toByteOffset: 7, as: UInt8.self) }
    }
    static let hasWeakrefsFlag: UInt8 = 1
    static let aliveFlag: UInt8 = 1 << 1

    /// In which order an instance drops its attributes (``SharedKeys``).
    enum AttributeOrder {
        /// Its values inline (a split dict), set in the class's shared-key order: the table's order.
        case shared
        /// Inline, but some set out of the shared-key order: sorted by shared index when it dies.
        case unsorted
        /// A name did not fit the class's keys: a dict of its own, dropped in the table's order.
        case combined
    }
    static let unsortedAttributesFlag: UInt8 = 1 << 2
    static let combinedAttributesFlag: UInt8 = 1 << 3

    /// Header byte 7 as an atomic: a weakref's registration (under the weakref registry's lock) and an
    /// attribute's (under the instance's lock) may set bits of it at once.
    private var atomicExtraFlags: UnsafeMutablePointer<Atomic<UInt8>> {
        (base + 7).assumingMemoryBound(to: Atomic<UInt8>.self)
    }

    /// Sets `bits` of header byte 7 in one atomic step.
    func setExtraFlags(_ bits: UInt8) {
        atomicExtraFlags.pointee.bitwiseOr(bits, ordering: .relaxed)
    }

    /// Clears `bits` of header byte 7 in one atomic step.
    func clearExtraFlags(_ bits: UInt8) {
        atomicExtraFlags.pointee.bitwiseAnd(~bits, ordering: .relaxed)
    }

    /// An instance's ``AttributeOrder`` (bits 2-3 of header byte 7). It only moves forward (shared,
    /// then unsorted or combined), set with ``setExtraFlags(_:)`` under the instance's lock.
    var attributeOrder: AttributeOrder {
        let bits = atomicExtraFlags.pointee.load(ordering: .relaxed)
        if bits & Self.combinedAttributesFlag != 0 { return .combined }
        return bits & Self.unsortedAttributesFlag != 0 ? .unsorted : .shared
    }

    /// A weakref's target id (0 once cleared), atomic: readers race with the target's death.
    var weakTarget: UnsafeMutablePointer<Atomic<UInt64>> {
        (base + 16).assumingMemoryBound(to: Atomic<UInt64>.self)
    }

    // MARK: Container bodies

    /// Items of a list or tuple, or live entries of a hash table.
    var count: Int {
        get { Int(base.load(fromByteOffset: 16, as: UInt32.self)) }
        nonmutating set { base.storeBytes(of: UInt32(newValue), toByteOffset: 16, as: UInt32.self) }
    }

    /// A list's capacity as CPython's `allocated` (what `sys.getsizeof` reports), whether its items are
    /// inline or in an array. The word's top bit says which (``listHasArray``).
    var listCapacity: Int {
        get { Int(base.load(fromByteOffset: 20, as: UInt32.self) & ~Self.listArrayBit) }
        nonmutating set {
            let bit = base.load(fromByteOffset: 20, as: UInt32.self) & Self.listArrayBit
            base.storeBytes(of: UInt32(newValue) | bit, toByteOffset: 20, as: UInt32.self)
        }
    }

    /// Whether a list's items live in a separately allocated array of ``listCapacity`` items; otherwise
    /// they are inline (at most ``listInlineCapacity``), even when CPython's `allocated` is larger.
    ///
    /// Why two notions: heapd's capacity follows CPython's growth so SIZEOF can answer exactly, but
    /// CPython's first append allocates room for 4; keeping one or two items inline spares most small
    /// lists an array of their own (16 bytes, one more block to allocate and free, one more cache miss
    /// for the collector per list).
    var listHasArray: Bool {
        get { base.load(fromByteOffset: 20, as: UInt32.self) & Self.listArrayBit != 0 }
        nonmutating set {
            let word = base.load(fromByteOffset: 20, as: UInt32.self) & ~Self.listArrayBit
            base.storeBytes(of: word | (newValue ? Self.listArrayBit : 0), toByteOffset: 20, as: UInt32.self)
        }
    }
    private static let listArrayBit: UInt32 = 1 << 31

    // The block sizes are defined with the image format (``ObjectSize``), whose analysis counts them.
    static var listInlineCapacity: Int { ObjectSize.listInlineCapacity }
    /// The largest capacity (CPython's `allocated`) a list may have with its items still inline.
    static var listInlineMaxAllocated: Int { ObjectSize.listInlineMaxAllocated }
    static var listSize: Int { ObjectSize.list }
    static var hashObjectSize: Int { ObjectSize.hashObject }

    /// A list's items: inline, or the separately allocated array (``listHasArray``).
    var listItems: UnsafeMutablePointer<UInt32> {
        if !listHasArray {
            return (base + 24).assumingMemoryBound(to: UInt32.self)
        }
        return base.load(fromByteOffset: 24, as: UnsafeMutableRawPointer.self).assumingMemoryBound(to: UInt32.self)
    }

    var listArrayPointer: UnsafeMutableRawPointer {
        get { base.load(fromByteOffset: 24, as: UnsafeMutableRawPointer.self) }
        nonmutating set { base.storeBytes(of: newValue, toByteOffset: 24, as: UnsafeMutableRawPointer.self) }
    }

    static func tupleSize(count: Int) -> Int { ObjectSize.tuple(count: count) }

    var tupleItems: UnsafeMutablePointer<UInt32> {
        (base + 20).assumingMemoryBound(to: UInt32.self)
    }

    /// Items of a list or tuple as a buffer.
    var sequenceItems: UnsafeMutableBufferPointer<UInt32> {
        switch kind {
        case .tuple: UnsafeMutableBufferPointer(start: tupleItems, count: count)
        default: UnsafeMutableBufferPointer(start: listItems, count: count)
        }
    }

    /// The hash table storage of a dict, set or instance (nil while empty and never grown).
    var hashStorage: UnsafeMutableRawPointer? {
        get { base.load(fromByteOffset: 24, as: UnsafeMutableRawPointer?.self) }
        nonmutating set { base.storeBytes(of: newValue, toByteOffset: 24, as: UnsafeMutableRawPointer?.self) }
    }

    /// An instance's class name (a str slot).
    var className: UInt32 {
        get { base.load(fromByteOffset: 20, as: UInt32.self) }
        nonmutating set { base.storeBytes(of: newValue, toByteOffset: 20, as: UInt32.self) }
    }

    // MARK: Generator bodies (see Heap+Generators.swift)

    static var generatorSize: Int { ObjectSize.generator }

    /// The object a generator iterates over (a counted reference), or ``noLink``.
    var generatorSource: UInt32 {
        get { base.load(fromByteOffset: 16, as: UInt32.self) }
        nonmutating set { base.storeBytes(of: newValue, toByteOffset: 16, as: UInt32.self) }
    }

    /// What the generator produces (a ``GeneratorMode`` raw value).
    var generatorMode: UInt8 {
        get { base.load(fromByteOffset: 20, as: UInt8.self) }
        nonmutating set { base.storeBytes(of: newValue, toByteOffset: 20, as: UInt8.self) }
    }

    /// A range's next value; an iterator's next index (a str's next byte offset, a table's next entry).
    var generatorPosition: Int64 {
        get { base.load(fromByteOffset: 24, as: Int64.self) }
        nonmutating set { base.storeBytes(of: newValue, toByteOffset: 24, as: Int64.self) }
    }

    /// A range's step; a dict or set iterator's size at creation (-1 once it saw a change).
    var generatorStep: Int64 {
        get { base.load(fromByteOffset: 32, as: Int64.self) }
        nonmutating set { base.storeBytes(of: newValue, toByteOffset: 32, as: Int64.self) }
    }

    /// The number of values a range has left to produce.
    var generatorRemaining: UInt64 {
        get { base.load(fromByteOffset: 40, as: UInt64.self) }
        nonmutating set { base.storeBytes(of: newValue, toByteOffset: 40, as: UInt64.self) }
    }

    /// The size this object's block was allocated with (what ``ArenaAllocator/free`` needs back).
    var blockSize: Int {
        switch kind {
        case .none, .bool: Self.headerSize
        case .int, .float: 16
        case .str, .bytes: Self.bytesHeader + byteCount
        case .list: Self.listSize
        case .tuple: Self.tupleSize(count: count)
        case .dict, .set, .object: Self.hashObjectSize
        case .weakref: 24
        case .generator: Self.generatorSize
        }
    }
}
