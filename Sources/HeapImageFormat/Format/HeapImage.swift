/// A heap image: what `SAVE` writes and `heapd --image` loads, held in memory between the heap and
/// the file (HeapCore's `StoppedHeap.captureImage(globals:dropping:)` makes one and its `ImageWriter`
/// writes it; ``ImageReader`` reads and checks one, HeapCore's `StoppedHeap.restore(_:)` rebuilds the
/// heap from it, and ``ImageAnalysis`` and ``ImageReferenceGraph`` read it for `heapctl inspect`).
///
/// This module holds what reading an image needs and no heap: `heapctl inspect` links it without
/// HeapCore. What touches the live heap (capture, the writer's fast buffer, restore) stays in HeapCore.
///
/// ## The file
///
/// Little-endian throughout. A 32-byte header, then six sections in this order (five in a version 1
/// image, which has no classes section), each with its own 24-byte header; the file ends exactly
/// after the last section.
///
///     header   0: magic "HEAPDIMG" · 8: version UInt32 · 12: flags UInt32 (0)
///             16: object count UInt64 · 24: section count UInt32 · 28: CRC32C of bytes 0..<28
///     section  0: tag UInt32 · 4: reserved UInt32 (0) · 8: payload length UInt64
///             16: CRC32C of the payload · 20: CRC32C of bytes 0..<20 of this section header
///             24: payload
///
/// The section header has its own checksum so that a flipped length bit is caught before the
/// length is believed; the payload's checksum covers the rest. Sections:
///
///     1 objects    one record per object, in image order (below)
///     2 weakrefs   UInt32 n, then n × (target ref, UInt32 k, k × weakref ref): each target's weak
///                  references in the order their callbacks are reported
///     3 namespace  UInt32 n, then n × (UInt32 length, UTF-8 name, ref): the shared globals, by name
///     4 garbage    UInt32 n, then n refs: `gc.garbage`, in order
///     5 collector  3 × UInt64: the generation counts (`gc.get_count()`)
///     6 classes    UInt32 n, then n × (UInt32 length, UTF-8 class name, UInt32 usable entries,
///                  UInt32 k, k × (UInt32 length, UTF-8 attribute name)): each class's shared keys, the
///                  names in shared-index order, by class name (version 2)
///
/// A **ref** is a UInt32: 0–3 the immortal singletons (None, True, False, the empty tuple), 4 + i
/// the image's object i, and ``HeapImage/noRef`` (0xFFFFFFFF) for nothing (a deleted hash entry, a
/// set entry's value, an exhausted generator's source). Object ids are not kept: a restored heap
/// numbers its objects afresh.
///
/// ## Object records
///
///     kind UInt8 · flags UInt8 · refcount UInt32 · body
///
///     flags: bit 0 tracked · bits 1-2 generation · bit 3 __del__ · bit 4 legacy finalizer · bit 5 finalized
///            · for an object (instance) only, bit 6 attributes set out of the shared keys' order,
///            bit 7 attributes in a dict of its own (version 2; ``ObjectFlags/unsortedAttributes``)
///     int, float       8 bytes (Int64, Double's bits)
///     str, bytes       UInt32 n, n bytes
///     list             UInt32 capacity, UInt32 n, n refs
///     tuple            UInt32 n (≥ 1), n refs
///     dict, set        UInt32 live entries, UInt32 table size (0: no table), UInt32 used, used × (key, value)
///     object           class-name ref, then as dict
///     weakref          nothing (its target is in the weakrefs section; absent: cleared)
///     generator        source ref, mode UInt8, position Int64, step Int64, remaining UInt64
///
/// Tracked containers come first, generation 0's list head to tail, then 1, 2 and the permanent
/// generation, so that linking them in record order rebuilds every list in its order; then the rest
/// (atoms, untracked dicts). Hash tables keep their size and their deleted entries, so a dict
/// iterator's position still names the same entry; hashes are not stored but recomputed, because an
/// instance hashes by its slot, which changes.
///
/// ## What is kept
///
/// What the remaining holders see: the globals and `gc.garbage` hold their references; session
/// variables do not survive a restart, so the references they hold are subtracted, and what then
/// drops to a count of zero is left out (as if every session had closed), and so on down. Cyclic
/// garbage that nothing holds stays in the image with its counts, as it stays in the heap until the
/// next collection. A weak reference whose target is left out is written cleared (its callback is
/// not reported).
public struct HeapImage: Sendable {
    /// The format version this heapd writes and reads (and 1, which lacks the classes section); an
    /// image with a higher one is refused.
    public static let version: UInt32 = 2
    package static let magic: [UInt8] = Array("HEAPDIMG".utf8)
    package static let headerSize = 32
    package static let sectionHeaderSize = 24
    public static let noRef = UInt32.max
    /// Refs below this name the immortal singletons.
    package static let firstObjectRef = UInt32(4)
    /// The empty tuple's ref, the last singleton.
    package static let emptyTupleRef = UInt32(3)
    /// Flag bits an image keeps (the rest are collector scratch, clear outside a collection).
    package static var keptFlags: UInt8 { ObjectFlags.persistent }

    package enum SectionTag: UInt32, CaseIterable {
        case objects = 1
        case weakrefs = 2
        case namespace = 3
        case garbage = 4
        case collector = 5
        case classes = 6

        /// The sections an image of format `version` holds, in order.
        package static func sections(version: UInt32) -> [SectionTag] {
            version >= 2 ? allCases : allCases.filter { $0 != .classes }
        }
    }

    /// One class's shared keys (``SharedKeys`` in HeapCore): what instances' attribute order rests on.
    public struct ClassKeys: Equatable, Sendable {
        public var className: String
        /// Entries left (`dk_usable`).
        public var usable: Int
        /// Attribute names in shared-index order.
        public var names: [String]

        public init(className: String, usable: Int, names: [String]) {
            self.className = className
            self.usable = usable
            self.names = names
        }
    }

    /// How many objects the image holds.
    public package(set) var objectCount: Int
    /// The objects section's payload.
    package var objectRecords: [UInt8]
    /// The weakrefs section, decoded.
    package var weakrefs: [(target: UInt32, weakrefs: [UInt32])]
    /// The shared globals by name, sorted.
    public package(set) var globals: [(name: String, ref: UInt32)]
    /// `gc.garbage`.
    package var garbage: [UInt32]
    /// `gc.get_count()`.
    package var counts: [Int]
    /// The classes' shared keys, by class name (empty from a version 1 image).
    package var classes: [ClassKeys]

    /// An image from its parts: a capture makes one, the reader one it checked.
    package init(
        objectCount: Int, objectRecords: [UInt8], weakrefs: [(target: UInt32, weakrefs: [UInt32])],
        globals: [(name: String, ref: UInt32)], garbage: [UInt32], counts: [Int], classes: [ClassKeys] = []
    ) {
        self.classes = classes
        self.objectCount = objectCount
        self.objectRecords = objectRecords
        self.weakrefs = weakrefs
        self.globals = globals
        self.garbage = garbage
        self.counts = counts
    }
}
