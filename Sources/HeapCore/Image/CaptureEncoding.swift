/// Object records written from live objects, for both ways of capturing an image: with the world
/// stopped (`SAVE`, ``StoppedHeap/captureImage(globals:dropping:order:)``) and while the heap runs
/// (`BGSAVE`, ``BackgroundCapture``). The record layout is ``HeapImage``'s.
extension ImageBytesWriter {
    /// Writes `object`'s record with `count` as its refcount; `ref` names each slot it references in
    /// the image (``HeapImage``'s refs), and is given ``ObjectLayout/noLink`` (= ``HashStorage/deletedKey``,
    /// ``HashStorage/noValue``) for "nothing".
    @inline(__always)
    func writeRecord(_ object: ObjectLayout, count: UInt32, ref: (UInt32) -> UInt32) {
        u8(object.kind.rawValue)
        var flags = object.flags & HeapImage.keptFlags
        if object.kind == .object {
            switch object.attributeOrder {
            case .shared: break
            case .unsorted: flags |= ObjectFlags.unsortedAttributes
            case .combined: flags |= ObjectFlags.combinedAttributes
            }
        }
        u8(flags)
        u32(count)
        switch object.kind {
        case .int: u64(UInt64(bitPattern: object.intValue))
        case .float: u64(object.floatValue.bitPattern)
        case .str, .bytes:
            u32(UInt32(object.byteCount))
            raw(UnsafeRawBufferPointer(object.bytes))
        case .list:
            u32(UInt32(object.listCapacity))
            u32(UInt32(object.count))
            for item in object.sequenceItems { u32(ref(item)) }
        case .tuple:
            u32(UInt32(object.count))
            for item in object.sequenceItems { u32(ref(item)) }
        case .dict, .set, .object:
            if object.kind == .object { u32(ref(object.className)) }
            u32(UInt32(object.count))
            if let storage = object.hashStorage {
                let hashTable = HashStorage(base: storage)
                u32(UInt32(hashTable.size))
                u32(UInt32(hashTable.used))
                for entry in 0..<hashTable.used {
                    let key = hashTable.key(at: entry)
                    u32(ref(key))
                    u32(key == HashStorage.deletedKey ? HeapImage.noRef : ref(hashTable.value(at: entry)))
                }
            } else {
                u32(0)
                u32(0)
            }
        case .weakref:
            break
        case .generator:
            u32(ref(object.generatorSource))
            u8(object.generatorMode)
            u64(UInt64(bitPattern: object.generatorPosition))
            u64(UInt64(bitPattern: object.generatorStep))
            u64(object.generatorRemaining)
        case .none, .bool:
            break
        }
    }
}

/// The places of the refs inside records already written, for a capture that writes records before it
/// knows the image's order (``BackgroundCapture`` names objects by slot first, then renames them).
enum RecordReferences {
    /// Offset of the refcount field in a record.
    static let countOffset = 2
    /// Offset of the flags byte in a record.
    static let flagsOffset = 1

    /// Calls `body` with the byte offset of each ref field of the record that starts at `start`, in
    /// order; returns the offset just past the record. The record was written by
    /// ``ImageBytesWriter/writeRecord(_:count:ref:)`` (trusted: no bounds are checked beyond the buffer's).
    static func forEach(in bytes: UnsafeRawBufferPointer, at start: Int, _ body: (Int) -> Void) -> Int {
        func u32(_ offset: Int) -> Int {
            Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        }
        let kind = ObjectKind(rawValue: bytes[start]) ?? .none
        var offset = start + 6
        switch kind {
        case .int, .float:
            offset += 8
        case .str, .bytes:
            offset += 4 + u32(offset)
        case .list, .tuple:
            if kind == .list { offset += 4 }
            let count = u32(offset)
            offset += 4
            for _ in 0..<count {
                body(offset)
                offset += 4
            }
        case .dict, .set, .object:
            if kind == .object {
                body(offset)
                offset += 4
            }
            offset += 8
            let used = u32(offset)
            offset += 4
            for _ in 0..<2 * used {
                body(offset)
                offset += 4
            }
        case .generator:
            body(offset)
            offset += 4 + 1 + 24
        case .weakref, .none, .bool:
            break
        }
        return offset
    }
}

extension HeapImage {
    /// The image around its object records: `place(slot)` is a kept slot's ref (``HeapImage/noRef`` for
    /// one left out), `registry` the weak references by target slot, `garbage` gc.garbage's slots.
    static func assemble(
        objectCount: Int, records: [UInt8], registry: [UInt32: [UInt32]], globals: [String: ObjectRef],
        garbage: [ObjectRef], counts: [Int], classes: [HeapImage.ClassKeys], ref: (UInt32) -> UInt32
    ) -> HeapImage {
        // The weak references of kept targets, kept weakrefs only, in registry order.
        var weakrefs: [(target: UInt32, weakrefs: [UInt32])] = []
        for (target, refs) in registry {
            let target = ref(target)
            guard target != HeapImage.noRef else { continue }
            let listed = refs.map { ref($0) }.filter { $0 != HeapImage.noRef }
            if !listed.isEmpty { weakrefs.append((target, listed)) }
        }
        weakrefs.sort { $0.target < $1.target }
        return HeapImage(
            objectCount: objectCount,
            objectRecords: records,
            weakrefs: weakrefs,
            globals: globals.sorted { $0.key < $1.key }.map { ($0.key, ref($0.value.slot)) },
            garbage: garbage.map { ref($0.slot) },
            counts: counts,
            classes: classes)
    }
}

extension HeapImage {
    /// How a capture orders the object records.
    public enum RecordOrder: Sendable {
        /// Tracked containers by generation, each generation's list head to tail (its collection order),
        /// then the rest by slot: `SAVE`'s order, which a restore rebuilds exactly.
        case generationLists
        /// Tracked containers by generation, each by slot, then the rest by slot: what a background
        /// capture can know without walking the lists while they change (`BGSAVE`).
        case slots
    }
}
