/// Random access to a checked image's object records: where each one starts, found in one pass, so
/// that a walk over the graph (``ImageReferenceGraph``) decodes only the records it visits.
package struct ImageRecords {
    private let bytes: [UInt8]
    private let offsets: [Int]

    /// Indexes the records of `image` (which ``ImageReader`` checked).
    package init(_ image: HeapImage) throws(ImageError) {
        bytes = image.objectRecords
        var offsets: [Int] = []
        offsets.reserveCapacity(image.objectCount)
        var reader = ImageBytesReader(bytes, shortage: .corrupt, what: "an object record")
        var record = ObjectRecord()
        for _ in 0..<image.objectCount {
            offsets.append(reader.offset)
            try ObjectRecord.decode(from: &reader, into: &record)
        }
        self.offsets = offsets
    }

    package var count: Int { offsets.count }

    /// Decodes object `index`'s record into `record` (reusing its storage).
    package func decode(_ index: Int, into record: inout ObjectRecord) throws(ImageError) {
        var reader = ImageBytesReader(
            bytes, from: offsets[index], shortage: .corrupt, what: "object \(index)'s record")
        try ObjectRecord.decode(from: &reader, into: &record)
    }

    /// Object `index`'s record, decoded afresh.
    package func record(_ index: Int) throws(ImageError) -> ObjectRecord {
        var record = ObjectRecord()
        try decode(index, into: &record)
        return record
    }
}
