/// One object of a heap image, decoded (``HeapImage`` describes the record layout). The reader checks
/// every record through it, the restore rebuilds from it, and `heapctl inspect`-style analyses read
/// it; one decoder, so the three cannot disagree about a field.
///
/// A record is decoded into a reused value (``decode(from:into:)`` keeps its arrays' capacity), so
/// walking a million records allocates only when an array must grow.
package struct ObjectRecord {
    package init() {}

    package var kind: ObjectKind = .none
    package var flags: UInt8 = 0
    package var refcount: UInt32 = 0
    /// int's value, float's bits.
    package var scalar: UInt64 = 0
    /// str and bytes: the contents.
    package var contents: ArraySlice<UInt8> = []
    /// list and tuple: the items; dict, set and object: key, value, key, value … of every entry,
    /// deleted ones included (key ``HeapImage/noRef``).
    package var refs: [UInt32] = []
    /// list: its capacity; dict, set, object: the table size (0 without a table).
    package var capacity: Int = 0
    /// dict, set, object: live entries.
    package var liveCount: Int = 0
    /// object: its class name; generator: its source.
    package var link: UInt32 = HeapImage.noRef
    package var generatorMode: UInt8 = 0
    package var generatorPosition: Int64 = 0
    package var generatorStep: Int64 = 0
    package var generatorRemaining: UInt64 = 0

    /// The refs the object holds, each a counted reference (what the reader counts refcounts against).
    package func forEachReference(_ body: (UInt32) -> Void) {
        switch kind {
        case .list, .tuple:
            for ref in refs { body(ref) }
        case .dict, .set, .object:
            if kind == .object { body(link) }
            var index = 0
            while index + 1 < refs.count {
                if refs[index] != HeapImage.noRef {
                    body(refs[index])
                    if refs[index + 1] != HeapImage.noRef { body(refs[index + 1]) }
                }
                index += 2
            }
        case .generator:
            if link != HeapImage.noRef { body(link) }
        default:
            break
        }
    }

    /// Decodes the record at the reader's offset into `record`, checking only what decoding needs
    /// (lengths, kinds); ``ImageReader`` checks the rest.
    package static func decode(from reader: inout ImageBytesReader, into record: inout ObjectRecord) throws(ImageError)
    {
        let start = reader.offset
        let rawKind = try reader.u8()
        guard let kind = ObjectKind(rawValue: rawKind), kind != .none, kind != .bool else {
            throw ImageError(.corrupt, "image corrupt: object record at offset \(start) has kind byte \(rawKind)")
        }
        record.kind = kind
        record.flags = try reader.u8()
        record.refcount = try reader.u32()
        record.refs.removeAll(keepingCapacity: true)
        record.contents = []
        record.link = HeapImage.noRef
        record.capacity = 0
        record.liveCount = 0
        switch kind {
        case .int, .float:
            record.scalar = try reader.u64()
        case .str, .bytes:
            let count = Int(try reader.u32())
            record.contents = try reader.slice(count)
        case .list:
            record.capacity = Int(try reader.u32())
            try readRefs(Int(try reader.u32()), from: &reader, into: &record)
        case .tuple:
            try readRefs(Int(try reader.u32()), from: &reader, into: &record)
        case .dict, .set, .object:
            if kind == .object { record.link = try reader.u32() }
            record.liveCount = Int(try reader.u32())
            record.capacity = Int(try reader.u32())
            let used = Int(try reader.u32())
            try readRefs(2 * used, from: &reader, into: &record)
        case .weakref:
            break
        case .generator:
            record.link = try reader.u32()
            record.generatorMode = try reader.u8()
            record.generatorPosition = Int64(bitPattern: try reader.u64())
            record.generatorStep = Int64(bitPattern: try reader.u64())
            record.generatorRemaining = try reader.u64()
        case .none, .bool:
            break
        }
    }

    private static func readRefs(_ count: Int, from reader: inout ImageBytesReader, into record: inout ObjectRecord)
        throws(ImageError)
    {
        // Checked before reserving: a corrupt count must not make us allocate gigabytes.
        try reader.need(4 * count)
        record.refs.reserveCapacity(count)
        for _ in 0..<count { record.refs.append(try reader.u32()) }
    }
}
