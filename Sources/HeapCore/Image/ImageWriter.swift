/// Writes a ``HeapImage`` in the file format ``HeapImage`` describes, as a stream of chunks handed to
/// `emit` (the caller's file handle: heapd's snapshot directory writes them to a temporary file,
/// syncs it and renames it; a test keeps them in memory). No I/O here.
public enum ImageWriter {
    /// The largest chunk handed to `emit` at once.
    static let chunkSize = 1 << 20

    /// Emits the image's bytes in order; returns how many were emitted.
    @discardableResult
    public static func write<E: Error>(_ image: HeapImage, _ emit: ([UInt8]) throws(E) -> Void) throws(E) -> Int {
        let header = ImageBytesWriter()
        header.raw(HeapImage.magic)
        header.u32(HeapImage.version)
        header.u32(0)
        header.u64(UInt64(image.objectCount))
        let sections = HeapImage.SectionTag.sections(version: HeapImage.version)
        header.u32(UInt32(sections.count))
        header.u32(CRC32C.checksum(header.bytes))
        let headerBytes = header.bytes
        try emit(headerBytes)
        var written = headerBytes.count
        for tag in sections {
            let payload = tag == .objects ? image.objectRecords : smallSection(tag, of: image)
            let sectionHeader = ImageBytesWriter()
            sectionHeader.u32(tag.rawValue)
            sectionHeader.u32(0)
            sectionHeader.u64(UInt64(payload.count))
            sectionHeader.u32(CRC32C.checksumInStreams(payload[...]))
            sectionHeader.u32(CRC32C.checksum(sectionHeader.bytes))
            let sectionHeaderBytes = sectionHeader.bytes
            try emit(sectionHeaderBytes)
            var start = 0
            while start < payload.count {
                let end = min(start + chunkSize, payload.count)
                try emit(Array(payload[start..<end]))
                start = end
            }
            written += sectionHeaderBytes.count + payload.count
        }
        return written
    }

    /// The whole image as one array (tests, benchmarks).
    public static func bytes(of image: HeapImage) -> [UInt8] {
        var result: [UInt8] = []
        write(image) { (chunk: [UInt8]) in result.append(contentsOf: chunk) }
        return result
    }

    private static func smallSection(_ tag: HeapImage.SectionTag, of image: HeapImage) -> [UInt8] {
        let out = ImageBytesWriter()
        switch tag {
        case .objects:
            break
        case .weakrefs:
            out.u32(UInt32(image.weakrefs.count))
            for (target, refs) in image.weakrefs {
                out.u32(target)
                out.u32(UInt32(refs.count))
                for ref in refs { out.u32(ref) }
            }
        case .namespace:
            out.u32(UInt32(image.globals.count))
            for (name, ref) in image.globals {
                out.u32(UInt32(name.utf8.count))
                out.raw(name.utf8)
                out.u32(ref)
            }
        case .garbage:
            out.u32(UInt32(image.garbage.count))
            for ref in image.garbage { out.u32(ref) }
        case .collector:
            for count in image.counts { out.u64(UInt64(max(0, count))) }
        case .classes:
            func text(_ value: String) {
                out.u32(UInt32(value.utf8.count))
                out.raw(value.utf8)
            }
            out.u32(UInt32(image.classes.count))
            for keys in image.classes {
                text(keys.className)
                out.u32(UInt32(keys.usable))
                out.u32(UInt32(keys.names.count))
                keys.names.forEach(text)
            }
        }
        return out.bytes
    }
}
