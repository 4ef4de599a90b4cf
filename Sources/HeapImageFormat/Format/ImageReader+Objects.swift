/// The objects section's check, the reader's longest step: every record decodes, names only objects
/// the image has, and holds a structure a heap can hold (see ``ImageReader``); the references each
/// object receives from the records are counted for the refcount check that ends the read.
extension ImageReader {
    /// What the objects section says about each object, for the checks of the later sections.
    struct ObjectCensus {
        /// Each object's kind.
        var kinds: [ObjectKind]
        /// Each object's refcount, as its record states it.
        var expected: [UInt32]
        /// The references to each object counted so far (records only).
        var found: [UInt32]
    }

    /// Checks the objects section's `payload`, which must hold exactly `count` records.
    ///
    /// One pass with an ``ImageRecordCursor`` (no array per record), writing the census through raw
    /// buffers; the messages are those the reader has always given.
    static func checkObjects(_ payload: UnsafeRawBufferPointer, count: Int) throws(ImageError) -> ObjectCensus {
        var census = ObjectCensus(
            kinds: [ObjectKind](repeating: .none, count: count), expected: [UInt32](repeating: 0, count: count),
            found: [UInt32](repeating: 0, count: count))
        let limit = HeapImage.firstObjectRef + UInt32(count)
        func corrupt(_ message: String) -> ImageError { ImageError(.corrupt, "image corrupt: \(message)") }
        var classNames: [(Int, UInt32)] = []
        try census.kinds.withUnsafeMutableBufferPointer { kinds throws(ImageError) in
            try census.expected.withUnsafeMutableBufferPointer { expected throws(ImageError) in
                try census.found.withUnsafeMutableBufferPointer { found throws(ImageError) in
                    var cursor = ImageRecordCursor(payload)
                    for index in 0..<count {
                        let record = try cursor.next()
                        // Formatted only for an error: one interpolation per record was a third of the check.
                        let kind = record.kind
                        var what: String { "object \(index) (\(kind))" }
                        /// Checks that `ref` names the image's objects and counts it as a reference.
                        @inline(__always)
                        func counted(_ ref: UInt32) throws(ImageError) {
                            guard ref < limit else {
                                throw corrupt("\(what) names object \(ref), beyond the image's \(count)")
                            }
                            if ref >= HeapImage.firstObjectRef { found[Int(ref - HeapImage.firstObjectRef)] &+= 1 }
                        }
                        kinds[index] = kind
                        expected[index] = record.refcount
                        let allowed =
                            HeapImage.keptFlags
                            | (kind == .object ? ObjectFlags.unsortedAttributes | ObjectFlags.combinedAttributes : 0)
                        guard record.refcount > 0, record.flags & ~allowed == 0,
                            kind.isContainer || record.flags & ObjectFlags.tracked == 0
                        else { throw corrupt("\(what) has refcount \(record.refcount) and flags \(record.flags)") }
                        switch kind {
                        case .list, .tuple:
                            for ref in record.refs { try counted(ref) }
                            if kind == .list {
                                guard record.refs.count <= record.capacity,
                                    record.capacity <= Int(UInt32.max) / 8 - 16
                                else {
                                    throw corrupt(
                                        "\(what) holds \(record.refs.count) items in capacity \(record.capacity)")
                                }
                            } else if record.refs.isEmpty {
                                throw corrupt("\(what) is an empty tuple, which is a singleton")
                            }
                        case .dict, .set, .object:
                            if kind == .object {
                                try counted(record.link)
                                classNames.append((index, record.link))
                            }
                            let used = record.refs.count / 2
                            let capacity = record.capacity
                            if capacity == 0 {
                                guard used == 0, record.liveCount == 0 else {
                                    throw corrupt("\(what) has entries but no table")
                                }
                            } else {
                                guard capacity >= HashTableSize.minimum, capacity & (capacity - 1) == 0,
                                    capacity <= 1 << 28, used <= HashTableSize.usable(size: capacity)
                                else { throw corrupt("\(what) has a table of size \(capacity) with \(used) entries") }
                            }
                            var live = 0
                            for entry in 0..<used {
                                let key = record.refs[2 * entry]
                                let value = record.refs[2 * entry + 1]
                                guard key != HeapImage.noRef else { continue }
                                live += 1
                                try counted(key)
                                if kind == .set {
                                    guard value == HeapImage.noRef else {
                                        throw corrupt("\(what) has a value in a set entry")
                                    }
                                } else {
                                    try counted(value)
                                }
                            }
                            guard live == record.liveCount else {
                                throw corrupt("\(what) says \(record.liveCount) entries, has \(live)")
                            }
                        case .generator:
                            guard GeneratorMode(rawValue: record.generatorMode) != nil else {
                                throw corrupt("\(what) has mode \(record.generatorMode)")
                            }
                            if record.link != HeapImage.noRef { try counted(record.link) }
                        default:
                            break
                        }
                    }
                    guard cursor.atEnd else {
                        throw corrupt("the objects section has \(cursor.remaining) bytes left over")
                    }
                    for (index, name) in classNames
                    where name < HeapImage.firstObjectRef || kinds[Int(name - HeapImage.firstObjectRef)] != .str {
                        throw corrupt("instance \(index)'s class name is not a str")
                    }
                }
            }
        }
        return census
    }
}
