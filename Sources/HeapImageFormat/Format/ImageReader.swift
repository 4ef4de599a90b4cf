/// Reads and checks a heap image (the format is described in ``HeapImage``) before anything of it
/// reaches a heap: a restore starts only from an image that passed every check here, so a truncated,
/// corrupt or newer image is refused whole, never half-loaded.
///
/// The checks, in order: the header (magic, checksum, version, section count); each section's header
/// checksum, then its length against the file, then its payload checksum; the file ends after the
/// last section; every object record decodes and names only objects the image has; the structure a
/// heap can hold (list count within capacity, hash tables sized as heapd sizes them, a set's values
/// absent, an instance's class name a str, weakref entries naming weakrefs); and last every refcount
/// against the references the image holds to it (records, globals, `gc.garbage`), which catches a
/// writer's mistake no checksum can.
public enum ImageReader {
    /// The image in `bytes`, checked; throws what is wrong with it.
    public static func read(_ bytes: [UInt8]) throws(ImageError) -> HeapImage {
        var reader = ImageBytesReader(bytes, shortage: .truncated, what: "the header")
        let magic = Array(bytes.prefix(HeapImage.magic.count))
        guard magic == Array(HeapImage.magic.prefix(magic.count)) else {
            throw ImageError(.notAnImage, "not a heapd image (the file does not start with HEAPDIMG)")
        }
        try reader.need(HeapImage.headerSize)
        let headerCRC = CRC32C.checksum(bytes[0..<28])
        reader.offset = 8
        let version = try reader.u32()
        let flags = try reader.u32()
        let objectCount = try reader.u64()
        let sectionCount = try reader.u32()
        guard try reader.u32() == headerCRC else {
            throw ImageError(.corrupt, "image corrupt: the header's checksum does not match")
        }
        guard version <= HeapImage.version else {
            throw ImageError(
                .newerVersion,
                "image format version \(version) is newer than this heapd reads (\(HeapImage.version)); use a newer heapd"
            )
        }
        let sections = HeapImage.SectionTag.sections(version: version)
        guard version >= 1, flags == 0, sectionCount == UInt32(sections.count),
            objectCount < UInt64(UInt32.max - HeapImage.firstObjectRef)
        else {
            throw ImageError(.corrupt, "image corrupt: the header holds impossible values")
        }

        var payloads: [HeapImage.SectionTag: Range<Int>] = [:]
        for tag in sections {
            reader = ImageBytesReader(bytes, from: reader.offset, shortage: .truncated, what: "the \(tag) section")
            try reader.need(HeapImage.sectionHeaderSize)
            let start = reader.offset
            let rawTag = try reader.u32()
            let reserved = try reader.u32()
            let length = try reader.u64()
            let payloadCRC = try reader.u32()
            guard try reader.u32() == CRC32C.checksum(bytes[start..<start + 20]) else {
                throw ImageError(.corrupt, "image corrupt: the \(tag) section's header checksum does not match")
            }
            guard rawTag == tag.rawValue, reserved == 0 else {
                throw ImageError(.corrupt, "image corrupt: expected the \(tag) section at offset \(start)")
            }
            guard length <= UInt64(reader.remaining) else {
                throw ImageError(
                    .truncated,
                    "image truncated: the \(tag) section needs \(length) bytes, the file has \(reader.remaining) left")
            }
            let range = reader.offset..<reader.offset + Int(length)
            guard CRC32C.checksumInStreams(bytes[range]) == payloadCRC else {
                throw ImageError(.corrupt, "image corrupt: the \(tag) section's checksum does not match")
            }
            payloads[tag] = range
            reader.offset = range.upperBound
        }
        guard reader.atEnd else {
            throw ImageError(.corrupt, "image corrupt: \(reader.remaining) bytes follow the last section")
        }

        let count = Int(objectCount)
        let limit = HeapImage.firstObjectRef + UInt32(count)
        func corrupt(_ message: String) -> ImageError { ImageError(.corrupt, "image corrupt: \(message)") }
        func checkRef(_ ref: UInt32, _ what: @autoclosure () -> String) throws(ImageError) {
            guard ref < limit else { throw corrupt("\(what()) names object \(ref), beyond the image's \(count)") }
        }
        /// A reader over one section's checked payload.
        func payloadReader(_ tag: HeapImage.SectionTag, what: String) -> ImageBytesReader {
            let range = payloads[tag]!
            return ImageBytesReader(bytes, from: range.lowerBound, to: range.upperBound, shortage: .corrupt, what: what)
        }

        // Objects (ImageReader+Objects.swift).
        let objects = payloads[.objects]!
        let census = try bytes.withImageBytes { (raw) throws(ImageError) in
            try checkObjects(UnsafeRawBufferPointer(rebasing: raw[objects]), count: count)
        }
        let kinds = census.kinds
        let expected = census.expected
        var found = census.found
        func countReference(_ ref: UInt32) {
            if ref >= HeapImage.firstObjectRef { found[Int(ref - HeapImage.firstObjectRef)] &+= 1 }
        }

        // Weak references.
        var section = payloadReader(.weakrefs, what: "the weakrefs section")
        var weakrefs: [(target: UInt32, weakrefs: [UInt32])] = []
        var listed = Set<UInt32>()
        let targets = try section.u32()
        for _ in 0..<targets {
            let target = try section.u32()
            try checkRef(target, "a weakref target")
            guard target >= HeapImage.firstObjectRef else { throw corrupt("a weakref targets a singleton") }
            let n = Int(try section.u32())
            try section.need(4 * n)
            var refs: [UInt32] = []
            for _ in 0..<n {
                let weak = try section.u32()
                try checkRef(weak, "a weakref entry")
                guard weak >= HeapImage.firstObjectRef, kinds[Int(weak - 4)] == .weakref, listed.insert(weak).inserted
                else { throw corrupt("weakref entry \(weak) is not a weakref, or is listed twice") }
                refs.append(weak)
            }
            weakrefs.append((target, refs))
        }
        guard section.atEnd else { throw corrupt("the weakrefs section has bytes left over") }

        // Globals.
        section = payloadReader(.namespace, what: "the namespace section")
        var globals: [(name: String, ref: UInt32)] = []
        var names = Set<String>()
        let globalCount = try section.u32()
        for _ in 0..<globalCount {
            let length = Int(try section.u32())
            guard let name = String(validating: try section.slice(length), as: UTF8.self), names.insert(name).inserted
            else { throw corrupt("a global's name is not UTF-8, or is repeated") }
            let ref = try section.u32()
            try checkRef(ref, "global '\(name)'")
            countReference(ref)
            globals.append((name, ref))
        }
        guard section.atEnd else { throw corrupt("the namespace section has bytes left over") }

        // gc.garbage.
        section = payloadReader(.garbage, what: "the garbage section")
        let garbageCount = Int(try section.u32())
        try section.need(4 * garbageCount)
        var garbage: [UInt32] = []
        for _ in 0..<garbageCount {
            let ref = try section.u32()
            try checkRef(ref, "gc.garbage")
            countReference(ref)
            garbage.append(ref)
        }
        guard section.atEnd else { throw corrupt("the garbage section has bytes left over") }

        // Collector counts.
        section = payloadReader(.collector, what: "the collector section")
        var counts: [Int] = []
        for _ in 0..<3 {
            let value = try section.u64()
            guard value <= UInt64(Int32.max) else { throw corrupt("a generation count of \(value)") }
            counts.append(Int(value))
        }
        guard section.atEnd else { throw corrupt("the collector section has bytes left over") }

        // Classes (version 2).
        var classes: [HeapImage.ClassKeys] = []
        if payloads[.classes] != nil {
            section = payloadReader(.classes, what: "the classes section")
            func text() throws(ImageError) -> String {
                let length = Int(try section.u32())
                guard let text = String(validating: try section.slice(length), as: UTF8.self) else {
                    throw corrupt("a class or attribute name is not UTF-8")
                }
                return text
            }
            let classCount = try section.u32()
            for _ in 0..<classCount {
                let className = try text()
                let usable = Int(try section.u32())
                let nameCount = Int(try section.u32())
                var names: [String] = []
                for _ in 0..<nameCount { names.append(try text()) }
                guard usable <= 30, names.count + usable <= 30, Set(names).count == names.count,
                    classes.last.map({ $0.className < className }) ?? true
                else { throw corrupt("class '\(className)' has impossible shared keys, or is out of order") }
                classes.append(HeapImage.ClassKeys(className: className, usable: usable, names: names))
            }
            guard section.atEnd else { throw corrupt("the classes section has bytes left over") }
        }

        for index in 0..<count where found[index] != expected[index] {
            throw corrupt(
                "object \(index) (\(kinds[index])) has refcount \(expected[index]) but \(found[index]) references")
        }
        return HeapImage(
            objectCount: count, objectRecords: Array(bytes[payloads[.objects]!]), weakrefs: weakrefs, globals: globals,
            garbage: garbage, counts: counts, classes: classes)
    }
}
