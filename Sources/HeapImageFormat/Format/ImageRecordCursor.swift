/// Walks the object records of a heap image (layout in ``HeapImage``) without copying them: each step
/// hands out a ``RecordView`` whose refs and contents are views into the image bytes.
///
/// Why a second decoder beside ``ObjectRecord``: the reader's check and the restore each walk a
/// million records, and ``ObjectRecord/decode(from:into:)`` appends every ref to an array through a
/// bounds-checked reader (a uniqueness check and a capacity check per ref; a profile of a 1M-object
/// restore put record decoding at a third of the check). Here a record's fixed part is checked against
/// the section's end once, and its refs are read where they lie. `HeapImageTests` checks that both
/// decoders read every record of random images alike, so they cannot drift apart.
///
/// The views are valid only while the bytes the cursor was made over are: callers make the cursor
/// inside `withUnsafeBytes` and let no view escape it.
package struct ImageRecordCursor {
    package let bytes: UnsafeRawBufferPointer
    /// Where the next record starts.
    package var offset = 0

    package init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    package var atEnd: Bool { offset == bytes.count }
    package var remaining: Int { bytes.count - offset }

    /// The record at ``offset``, which moves past it; throws `corrupt` for an unknown kind or a record
    /// that runs past the section's end (whose length the section checksum vouched for).
    @inline(__always)
    package mutating func next() throws(ImageError) -> RecordView {
        let start = offset
        try need(6)
        let rawKind = load(UInt8.self, at: start)
        guard rawKind > ObjectKind.bool.rawValue, rawKind <= ObjectKind.generator.rawValue else {
            throw Self.unknownKind(rawKind, at: start)
        }
        var record = RecordView(
            kind: unsafeBitCast(rawKind, to: ObjectKind.self), flags: load(UInt8.self, at: start + 1),
            refcount: load(UInt32.self, at: start + 2))
        offset = start + 6
        switch record.kind {
        case .int, .float:
            try need(8)
            record.scalar = load(UInt64.self, at: offset)
            offset += 8
        case .str, .bytes:
            try need(4)
            let count = Int(load(UInt32.self, at: offset))
            try need(4 + count)
            record.contents = UnsafeRawBufferPointer(rebasing: bytes[offset + 4..<offset + 4 + count])
            offset += 4 + count
        case .list:
            try need(8)
            record.capacity = Int(load(UInt32.self, at: offset))
            record.refs = try refs(Int(load(UInt32.self, at: offset + 4)), at: offset + 8)
        case .tuple:
            try need(4)
            record.refs = try refs(Int(load(UInt32.self, at: offset)), at: offset + 4)
        case .dict, .set, .object:
            var at = offset
            if record.kind == .object {
                try need(4)
                record.link = load(UInt32.self, at: at)
                at += 4
            }
            try need(at - offset + 12)
            record.liveCount = Int(load(UInt32.self, at: at))
            record.capacity = Int(load(UInt32.self, at: at + 4))
            record.refs = try refs(2 * Int(load(UInt32.self, at: at + 8)), at: at + 12)
        case .weakref:
            break
        case .generator:
            try need(29)
            record.link = load(UInt32.self, at: offset)
            record.generatorMode = load(UInt8.self, at: offset + 4)
            record.generatorPosition = Int64(bitPattern: load(UInt64.self, at: offset + 5))
            record.generatorStep = Int64(bitPattern: load(UInt64.self, at: offset + 13))
            record.generatorRemaining = load(UInt64.self, at: offset + 21)
            offset += 29
        case .none, .bool:
            break
        }
        return record
    }

    /// Throws unless `count` bytes follow ``offset``.
    @inline(__always)
    private func need(_ count: Int) throws(ImageError) {
        guard count >= 0, count <= bytes.count - offset else { throw Self.pastTheEnd(offset) }
    }

    // The errors are made out of line, so that the walk inlines into its callers.
    @inline(never)
    private static func unknownKind(_ rawKind: UInt8, at offset: Int) -> ImageError {
        ImageError(.corrupt, "image corrupt: object record at offset \(offset) has kind byte \(rawKind)")
    }

    @inline(never)
    private static func pastTheEnd(_ offset: Int) -> ImageError {
        ImageError(.corrupt, "image corrupt: an object record runs past its section's end at offset \(offset)")
    }

    /// `count` refs starting at `start`, which the cursor then moves past.
    @inline(__always)
    private mutating func refs(_ count: Int, at start: Int) throws(ImageError) -> RefList {
        offset = start
        try need(4 * count)
        offset = start + 4 * count
        return RefList(base: bytes.baseAddress! + start, count: count)
    }

    // The one unsafe read here: an unaligned little-endian load at an offset `need` has checked.
    @inline(__always)
    private func load<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

/// One object record, as the image holds it (fields as in ``ObjectRecord``); valid while the cursor's
/// bytes are.
package struct RecordView {
    package var kind: ObjectKind
    package var flags: UInt8
    package var refcount: UInt32
    /// int's value, float's bits.
    package var scalar: UInt64 = 0
    /// str and bytes: the contents.
    package var contents = UnsafeRawBufferPointer(start: nil, count: 0)
    /// list and tuple: the items; dict, set and object: key, value, key, value … of every entry,
    /// deleted ones included (key ``HeapImage/noRef``).
    package var refs = RefList(base: nil, count: 0)
    /// list: its capacity; dict, set, object: the table size (0 without a table).
    package var capacity = 0
    /// dict, set, object: live entries.
    package var liveCount = 0
    /// object: its class name; generator: its source.
    package var link = HeapImage.noRef
    package var generatorMode: UInt8 = 0
    package var generatorPosition: Int64 = 0
    package var generatorStep: Int64 = 0
    package var generatorRemaining: UInt64 = 0

    init(kind: ObjectKind, flags: UInt8, refcount: UInt32) {
        self.kind = kind
        self.flags = flags
        self.refcount = refcount
    }

    /// The refs the object holds, each a counted reference (as ``ObjectRecord/forEachReference(_:)``).
    @inline(__always)
    package func forEachReference(_ body: (UInt32) throws(ImageError) -> Void) throws(ImageError) {
        switch kind {
        case .list, .tuple:
            for index in 0..<refs.count { try body(refs[index]) }
        case .dict, .set, .object:
            if kind == .object { try body(link) }
            for entry in 0..<refs.count / 2 {
                let key = refs[2 * entry]
                guard key != HeapImage.noRef else { continue }
                try body(key)
                let value = refs[2 * entry + 1]
                if value != HeapImage.noRef { try body(value) }
            }
        case .generator:
            if link != HeapImage.noRef { try body(link) }
        default:
            break
        }
    }
}

/// Refs as they lie in the image: `count` little-endian UInt32s at `base`, unaligned.
package struct RefList: RandomAccessCollection {
    package let base: UnsafeRawPointer?
    package let count: Int

    package var startIndex: Int { 0 }
    package var endIndex: Int { count }

    @inline(__always)
    package subscript(index: Int) -> UInt32 {
        precondition(index >= 0 && index < count, "ref index out of range")
        return UInt32(littleEndian: base!.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self))
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` for a body that throws ``ImageError`` (the standard library's rethrows an
    /// untyped error).
    package func withImageBytes<R>(_ body: (UnsafeRawBufferPointer) throws(ImageError) -> R) throws(ImageError) -> R {
        try withUnsafeBytes { raw in Result { () throws(ImageError) -> R in try body(raw) } }.get()
    }
}
