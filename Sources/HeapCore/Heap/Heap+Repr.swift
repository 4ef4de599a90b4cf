/// `repr(x)`: Python's readable form of an object, depth-limited and cycle-safe.
extension Heap {
    /// Python's `repr(x)`. Containers nested deeper than `maxDepth` print as `...`, a container already
    /// being printed higher up prints as Python prints a recursive reference (`[...]`, `{...}`), and at
    /// most `maxItems` items of one container are shown.
    ///
    /// Safe against concurrent mutators: each container is read under its lock into a retained snapshot,
    /// and the snapshot is printed after unlocking.
    public func repr(_ ref: ObjectRef, maxDepth: Int = 8, maxItems: Int = 100) -> String {
        repr(ref, maxDepth: maxDepth, maxItems: maxItems, maxBytes: .max) ?? ""
    }

    /// `repr(x)` as above, or nil when it would be longer than `maxBytes` bytes of UTF-8: the walk
    /// stops as soon as the text passes the bound, and a long str is measured before it is copied, so
    /// a repr too big to send (a 100 MB str, lists of lists sharing big items) is never built.
    public func repr(_ ref: ObjectRef, maxDepth: Int = 8, maxItems: Int = 100, maxBytes: Int) -> String? {
        var output = ""
        var walk = ReprWalk(maxBytes: maxBytes)
        write(ref, depth: maxDepth, maxItems: maxItems, walk: &walk, into: &output)
        return walk.exceeded || output.utf8.count > maxBytes ? nil : output
    }

    /// The state of one `repr` walk: the containers being printed (for recursive references) and the bound.
    private struct ReprWalk {
        var active = Set<UInt32>()
        let maxBytes: Int
        var exceeded = false

        init(maxBytes: Int) {
            self.maxBytes = maxBytes
        }

        /// Whether the text written so far, plus `more` bytes still to come, passes the bound (and the walk
        /// then stops).
        mutating func over(_ out: String, adding more: Int = 0) -> Bool {
            if !exceeded && out.utf8.count > maxBytes &- more { exceeded = true }
            return exceeded
        }
    }

    private func write(_ ref: ObjectRef, depth: Int, maxItems: Int, walk: inout ReprWalk, into out: inout String) {
        if walk.over(out) { return }
        let object = layout(ref)
        switch object.kind {
        case .none: out += "None"
        case .bool: out += ref == .true ? "True" : "False"
        case .int: out += String(object.intValue)
        case .float: out += Self.pythonFloat(object.floatValue)
        case .str:
            // Its repr is at least its bytes and two quotes: measured before the copy.
            if walk.over(out, adding: object.byteCount + 2) { return }
            out += Self.pythonString(String(decoding: object.bytes, as: UTF8.self))
        case .bytes: out += Self.pythonBytes(UnsafeRawBufferPointer(object.bytes), limit: 64)
        case .weakref:
            let target = ObjectID(rawValue: object.weakTarget.pointee.load(ordering: .acquiring))
            if target.rawValue != 0, let alive = try? acquire(target) {
                out += "<weakref at \(id(of: ref)); to '\(typeName(of: alive))' at \(target)>"
                release(alive)
            } else {
                out += "<weakref at \(id(of: ref)); dead>"
            }
        case .generator: out += "<generator object at \(id(of: ref))>"
        case .list, .tuple, .set, .dict, .object:
            writeContainer(ref, object.kind, depth: depth, maxItems: maxItems, walk: &walk, into: &out)
        }
    }

    private func writeContainer(
        _ ref: ObjectRef, _ kind: ObjectKind, depth: Int, maxItems: Int, walk: inout ReprWalk,
        into out: inout String
    ) {
        if kind == .object {
            out += "<\(typeName(of: ref)) object at \(id(of: ref))>"
            return
        }
        let (open, close) =
            switch kind {
            case .list: ("[", "]")
            case .tuple: ("(", ")")
            default: ("{", "}")
            }
        if walk.active.contains(ref.slot) {
            out += open + "..." + close
            return
        }
        if depth <= 0 {
            out += open + "..." + close
            return
        }
        walk.active.insert(ref.slot)
        defer { walk.active.remove(ref.slot) }
        switch kind {
        case .list, .tuple:
            let (items, count) = itemPrefix(of: ref, limit: maxItems)
            defer { for item in items { release(item) } }
            out += open
            for (index, item) in items.enumerated() {
                if index > 0 { out += ", " }
                write(item, depth: depth - 1, maxItems: maxItems, walk: &walk, into: &out)
            }
            if count > items.count { out += ", ...(\(count - items.count) more)" }
            if kind == .tuple && count == 1 { out += "," }
            out += close
        default:
            let (entries, count) = entryPrefix(of: ref, limit: maxItems)
            defer {
                for entry in entries {
                    release(entry.key)
                    if let value = entry.value { release(value) }
                }
            }
            if kind == .set && count == 0 {
                out += "set()"
                return
            }
            out += open
            for (index, entry) in entries.enumerated() {
                if index > 0 { out += ", " }
                write(entry.key, depth: depth - 1, maxItems: maxItems, walk: &walk, into: &out)
                if let value = entry.value {
                    out += ": "
                    write(value, depth: depth - 1, maxItems: maxItems, walk: &walk, into: &out)
                }
            }
            if count > entries.count { out += ", ...(\(count - entries.count) more)" }
            out += close
        }
    }

    /// The first `limit` items of a list or tuple, retained (release them), and how many it has: a
    /// repr shows at most `limit`, so a list of ten million items costs `limit` retains, not ten million.
    private func itemPrefix(of ref: ObjectRef, limit: Int) -> (items: [ObjectRef], count: Int) {
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
    private func entryPrefix(of ref: ObjectRef, limit: Int) -> (
        entries: [(key: ObjectRef, value: ObjectRef?)], count: Int
    ) {
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
