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

    /// What `writers` wrote, one after another, as one array: each written once more, no more (a
    /// capture in two halves joined them with three copies of the image).
    static func joined(_ writers: [ImageBytesWriter]) -> [UInt8] {
        let total = writers.reduce(0) { $0 + $1.count }
        return [UInt8](unsafeUninitializedCapacity: total) { buffer, initialized in
            var offset = 0
            for writer in writers where writer.count > 0 {
                UnsafeMutableRawPointer(buffer.baseAddress! + offset).copyMemory(
                    from: writer.storage.base, byteCount: writer.count)
                offset += writer.count
            }
            initialized = total
        }
    }

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
