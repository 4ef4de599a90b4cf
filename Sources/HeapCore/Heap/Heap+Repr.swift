/// `repr(x)`: Python's readable form of an object, depth-limited and cycle-safe.
extension Heap {
    /// Python's `repr(x)`. Containers nested deeper than `maxDepth` print as `...`, a container already
    /// being printed higher up prints as Python prints a recursive reference (`[...]`, `{...}`), and at
    /// most `maxItems` items of one container are shown.
    ///
    /// Safe against concurrent mutators: each container is read under its lock into a retained snapshot
    /// of the items it shows, and the snapshot is printed after unlocking.
    public func repr(_ ref: ObjectRef, maxDepth: Int = 8, maxItems: Int = 100) -> String {
        repr(ref, maxDepth: maxDepth, maxItems: maxItems, maxBytes: .max) ?? ""
    }

    /// `repr(x)` as above, or nil when it would be longer than `maxBytes` bytes of UTF-8: the walk
    /// stops as soon as the text passes the bound, and a long str is measured before it is copied, so
    /// a repr too big to send (a 100 MB str, lists of lists sharing big items) is never built. In one
    /// go; ``ReprWriter`` is the form that can stop between items.
    public func repr(_ ref: ObjectRef, maxDepth: Int = 8, maxItems: Int = 100, maxBytes: Int) -> String? {
        let writer = ReprWriter(heap: self, ref, maxDepth: maxDepth, maxItems: maxItems, maxBytes: maxBytes)
        while true {
            // Without a safepoint the writer never suspends, and nothing else throws.
            if let text = try? writer.resume(safepoint: nil) { return text }
        }
    }

    /// The repr of an object that is not written item by item: a scalar, a weakref, a generator, an
    /// instance.
    func scalarRepr(_ ref: ObjectRef) -> String {
        let object = layout(ref)
        switch object.kind {
        case .none: return "None"
        case .bool: return ref == .true ? "True" : "False"
        case .int: return String(object.intValue)
        case .float: return Self.pythonFloat(object.floatValue)
        case .str: return Self.pythonString(String(decoding: object.bytes, as: UTF8.self))
        case .bytes: return Self.pythonBytes(UnsafeRawBufferPointer(object.bytes), limit: 64)
        case .weakref:
            let target = ObjectID(rawValue: object.weakTarget.pointee.load(ordering: .acquiring))
            if target.rawValue != 0, let alive = try? acquire(target) {
                defer { release(alive) }
                return "<weakref at \(id(of: ref)); to '\(typeName(of: alive))' at \(target)>"
            }
            return "<weakref at \(id(of: ref)); dead>"
        case .generator: return "<generator object at \(id(of: ref))>"
        case .object: return "<\(typeName(of: ref)) object at \(id(of: ref))>"
        case .list, .tuple, .set, .dict: return "<\(typeName(of: ref)) object at \(id(of: ref))>"
        }
    }

    /// The first `limit` items of a list or tuple, retained (release them), and how many it has: a
    /// repr shows at most `limit`, so a list of ten million items costs `limit` retains, not ten million.
    func itemPrefix(of ref: ObjectRef, limit: Int) -> (items: [ObjectRef], count: Int) {
        let object = layout(ref)
        let read = { () -> ([ObjectRef], Int) in
            let all = object.sequenceItems
            let items = all.prefix(limit).map { slot in
                let item = ObjectRef(slot: slot)
                self.retain(item)
                return item
            }
            return (items, all.count)
        }
        return object.kind == .tuple ? read() : object.lock.withLock(read)
    }

    /// The first `limit` entries of a dict, set (value nil) or instance, retained, and how many it has.
    func entryPrefix(of ref: ObjectRef, limit: Int) -> (entries: [(key: ObjectRef, value: ObjectRef?)], count: Int) {
        let object = layout(ref)
        return object.lock.withLock {
            var result: [(key: ObjectRef, value: ObjectRef?)] = []
            guard let base = object.hashStorage else { return (result, object.count) }
            // Entries in insertion order, stopping at the limit (forEach rethrows: thrown to stop early).
            try? HashStorage(base: base).forEach { key, value throws(PrefixFull) in
                guard result.count < limit else { throw PrefixFull() }
                retain(ObjectRef(slot: key))
                let valueRef = value == HashStorage.noValue ? nil : ObjectRef(slot: value)
                if let valueRef { retain(valueRef) }
                result.append((ObjectRef(slot: key), valueRef))
            }
            return (result, object.count)
        }
    }

    /// Python's float repr: shortest round-tripping digits, `inf`, `nan`, and a `.0` on integral values.
    static func pythonFloat(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        // Swift's description is also the shortest round-tripping form, with Python's exponent style.
        return "\(value)"
    }

    /// Python's str repr with single quotes (double quotes when the text holds a single quote only).
    static func pythonString(_ text: String) -> String {
        let quote: Character = text.contains("'") && !text.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where Character(scalar) == quote: out += "\\" + String(quote)
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                out += "\\x" + hex(UInt8(scalar.value))
            default: out.unicodeScalars.append(scalar)
            }
        }
        out.append(quote)
        return out
    }

    /// Python's bytes repr (`b'...'`), cut after `limit` bytes with the total size noted.
    static func pythonBytes(_ bytes: UnsafeRawBufferPointer, limit: Int) -> String {
        var out = "b'"
        for byte in bytes.prefix(limit) {
            switch byte {
            case UInt8(ascii: "\\"): out += "\\\\"
            case UInt8(ascii: "'"): out += "\\'"
            case UInt8(ascii: "\n"): out += "\\n"
            case UInt8(ascii: "\r"): out += "\\r"
            case UInt8(ascii: "\t"): out += "\\t"
            case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(byte))
            default: out += "\\x" + hex(byte)
            }
        }
        out += "'"
        if bytes.count > limit { out += "... (\(bytes.count) bytes)" }
        return out
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 15)])
    }
}

/// Thrown to stop a walk over a hash table once a prefix is full.
private struct PrefixFull: Error {}
