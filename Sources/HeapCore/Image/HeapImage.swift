/// A heap image: what `SAVE` writes and `heapd --image` loads, held in memory between the heap and
/// the file (``StoppedHeap/captureImage(globals:dropping:)`` makes one, ``ImageWriter`` writes it,
/// ``ImageReader`` reads and checks one, ``StoppedHeap/restore(_:)`` rebuilds the heap from it).
///
/// ## The file
///
/// Little-endian throughout. A 32-byte header, then five sections in this order, each with its own
/// 24-byte header; the file ends exactly after the last section.
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
    /// The format version this heapd writes and reads; an image with a higher one is refused.
    public static let version: UInt32 = 1
    static let magic: [UInt8] = Array("HEAPDIMG".utf8)
    static let headerSize = 32
    static let sectionHeaderSize = 24
    public static let noRef = UInt32.max
    /// Refs below this name the immortal singletons.
    static let firstObjectRef = UInt32(4)
    /// Flag bits an image keeps (the rest are collector scratch, clear outside a collection).
    static let keptFlags: UInt8 = 0b0011_1111

    enum SectionTag: UInt32, CaseIterable {
        case objects = 1
        case weakrefs = 2
        case namespace = 3
        case garbage = 4
        case collector = 5
    }

    /// How many objects the image holds.
    public internal(set) var objectCount: Int
    /// The objects section's payload.
    var objectRecords: [UInt8]
    /// The weakrefs section, decoded.
    var weakrefs: [(target: UInt32, weakrefs: [UInt32])]
    /// The shared globals by name, sorted.
    public internal(set) var globals: [(name: String, ref: UInt32)]
    /// `gc.garbage`.
    var garbage: [UInt32]
    /// `gc.get_count()`.
    var counts: [Int]
}

/// Appends little-endian fields to a growing buffer; ``bytes`` hands them over as an array.
///
/// Why raw memory: a capture writes tens of millions of fields with the world stopped, and appending
/// to an `[UInt8]` paid a uniqueness check and a capacity check per field (a profile put them at a
/// third of the capture). The buffer is owned by this value's one class instance, grown by doubling,
/// written only below its capacity, and freed with it; nothing else sees the pointer.
struct ImageBytesWriter {
    private final class Storage {
        var base: UnsafeMutableRawPointer
        var capacity: Int
        var count = 0

        init(capacity: Int) {
            self.capacity = max(64, capacity)
            base = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 8)
        }

        deinit { base.deallocate() }

        @inline(__always)
        func reserve(_ more: Int) {
            guard count + more > capacity else { return }
            var grown = capacity * 2
            while grown < count + more { grown *= 2 }
            let bigger = UnsafeMutableRawPointer.allocate(byteCount: grown, alignment: 8)
            bigger.copyMemory(from: base, byteCount: count)
            base.deallocate()
            base = bigger
            capacity = grown
        }
    }

    private let storage: Storage

    init(capacity: Int = 256) {
        storage = Storage(capacity: capacity)
    }

    /// What was written, as an array (one copy).
    var bytes: [UInt8] { [UInt8](UnsafeRawBufferPointer(start: storage.base, count: storage.count)) }
    var count: Int { storage.count }

    @inline(__always)
    func u8(_ value: UInt8) {
        storage.reserve(1)
        storage.base.storeBytes(of: value, toByteOffset: storage.count, as: UInt8.self)
        storage.count += 1
    }

    @inline(__always)
    func u32(_ value: UInt32) {
        storage.reserve(4)
        storage.base.storeBytes(of: value.littleEndian, toByteOffset: storage.count, as: UInt32.self)
        storage.count += 4
    }

    @inline(__always)
    func u64(_ value: UInt64) {
        storage.reserve(8)
        storage.base.storeBytes(of: value.littleEndian, toByteOffset: storage.count, as: UInt64.self)
        storage.count += 8
    }

    func raw(_ value: UnsafeRawBufferPointer) {
        guard let source = value.baseAddress, value.count > 0 else { return }
        storage.reserve(value.count)
        (storage.base + storage.count).copyMemory(from: source, byteCount: value.count)
        storage.count += value.count
    }

    func raw(_ value: some Collection<UInt8>) {
        Array(value).withUnsafeBytes { raw($0) }
    }
}

/// Reads little-endian fields from a byte array, bounds-checked: running past the end throws
/// `truncated` (or `corrupt` inside a section, whose length the checksum vouched for).
struct ImageBytesReader {
    let bytes: [UInt8]
    var offset: Int
    let end: Int
    /// What running out of bytes means here: the file ended early, or a checksummed section lied.
    let shortage: ImageError.Kind
    let what: String

    init(_ bytes: [UInt8], from offset: Int = 0, to end: Int? = nil, shortage: ImageError.Kind, what: String) {
        self.bytes = bytes
        self.offset = offset
        self.end = end ?? bytes.count
        self.shortage = shortage
        self.what = what
    }

    var remaining: Int { end - offset }
    var atEnd: Bool { offset == end }

    @inline(__always)
    mutating func need(_ count: Int) throws(ImageError) {
        guard count >= 0, count <= remaining else { throw shortageError(count) }
    }

    private func shortageError(_ count: Int) -> ImageError {
        ImageError(
            shortage,
            shortage == .truncated
                ? "image truncated: \(what) needs \(count) bytes at offset \(offset), the file ends at \(end)"
                : "image corrupt: \(what) runs past its section's end at offset \(offset)")
    }

    mutating func u8() throws(ImageError) -> UInt8 {
        try need(1)
        defer { offset += 1 }
        return bytes[offset]
    }

    // The one unsafe read of the image code: an unaligned load from the array's own storage, at an
    // offset `need` has just checked against the end (which is within the array).
    mutating func u32() throws(ImageError) -> UInt32 {
        try need(4)
        let value = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
        offset += 4
        return UInt32(littleEndian: value)
    }

    mutating func u64() throws(ImageError) -> UInt64 {
        try need(8)
        let value = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self) }
        offset += 8
        return UInt64(littleEndian: value)
    }

    mutating func slice(_ count: Int) throws(ImageError) -> ArraySlice<UInt8> {
        try need(count)
        defer { offset += count }
        return bytes[offset..<offset + count]
    }
}
