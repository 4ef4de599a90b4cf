import HeapFormatting

/// `repr(x)` of an image's object, written as heapd's `REPR` writes the live object (HeapCore's
/// `ReprWriter`): containers to a depth, at most a few items each, then `...(n more)`; a nested
/// container past the depth as `[...]`. Objects are named `@i` where the live heap writes an id.
package struct ImageRepr {
    private let records: ImageRecords
    /// A weakref's target, by the weakref's ref (an image writes a cleared weakref without one).
    private let weakTargets: [UInt32: UInt32]

    package init(_ image: HeapImage, records: ImageRecords) {
        self.records = records
        var targets: [UInt32: UInt32] = [:]
        for (target, weakrefs) in image.weakrefs {
            for weak in weakrefs { targets[weak] = target }
        }
        weakTargets = targets
    }

    /// The singletons' refs and reprs (``HeapImage`` numbers them 0–3).
    package static let singletons = ["None", "True", "False", "()"]
    private static let singletonTypes = ["NoneType", "bool", "bool", "tuple"]

    /// How a ref is named in a graph: `@i` for the image's object i, the literal for a singleton.
    package static func name(_ ref: UInt32) -> String {
        ref < HeapImage.firstObjectRef ? singletons[Int(ref)] : "@\(ref - HeapImage.firstObjectRef)"
    }

    /// `type(x).__name__`: an instance's class name, else its kind's name.
    package func typeName(_ ref: UInt32) throws(ImageError) -> String {
        guard ref >= HeapImage.firstObjectRef else { return Self.singletonTypes[Int(ref)] }
        let record = try records.record(Int(ref - HeapImage.firstObjectRef))
        guard record.kind == .object else { return record.kind.description }
        return try text(of: record.link)
    }

    /// The contents of a str as text (an instance's class and attribute names).
    package func text(of ref: UInt32) throws(ImageError) -> String {
        guard ref >= HeapImage.firstObjectRef else { return Self.singletons[Int(ref)] }
        let record = try records.record(Int(ref - HeapImage.firstObjectRef))
        return String(decoding: record.contents, as: UTF8.self)
    }

    /// `repr(x)` one level deep, cut to about `limit` characters: a graph's label, not a dump (the
    /// live `GRAPH`'s short repr: depth 1, four items).
    package func short(_ ref: UInt32, limit: Int = 40) throws(ImageError) -> String {
        let text = try repr(ref, depth: 1, maxItems: 4)
        guard text.count > limit else { return text }
        return String(text.prefix(limit)) + "..."
    }

    /// `repr(x)`: containers nested deeper than `depth` print as `[...]`, at most `maxItems` items each.
    package func repr(_ ref: UInt32, depth: Int, maxItems: Int) throws(ImageError) -> String {
        guard ref >= HeapImage.firstObjectRef else { return Self.singletons[Int(ref)] }
        let name = Self.name(ref)
        let record = try records.record(Int(ref - HeapImage.firstObjectRef))
        switch record.kind {
        case .none, .bool:
            // Never: the singletons have no records (``ObjectRecord`` refuses their kinds).
            return record.kind.description
        case .int: return String(Int64(bitPattern: record.scalar))
        case .float: return PythonLiteral.float(Double(bitPattern: record.scalar))
        case .str: return PythonLiteral.string(String(decoding: record.contents, as: UTF8.self))
        case .bytes: return PythonLiteral.bytes(record.contents, limit: 64)
        case .weakref:
            guard let target = weakTargets[ref] else { return "<weakref at \(name); dead>" }
            return "<weakref at \(name); to '\(try typeName(target))' at \(Self.name(target))>"
        case .generator: return "<generator object at \(name)>"
        case .object: return "<\(try text(of: record.link)) object at \(name)>"
        case .list, .tuple, .dict, .set:
            return try container(record, depth: depth, maxItems: maxItems)
        }
    }

    private func container(_ record: ObjectRecord, depth: Int, maxItems: Int) throws(ImageError) -> String {
        let (open, close) =
            switch record.kind {
            case .list: ("[", "]")
            case .tuple: ("(", ")")
            default: ("{", "}")
            }
        guard depth > 0 else { return open + "..." + close }
        // What the live writer shows: a sequence's first items; a table's first live entries, a
        // dict's as key: value.
        var parts: [String] = []
        let count: Int
        switch record.kind {
        case .list, .tuple:
            count = record.refs.count
            for ref in record.refs.prefix(maxItems) {
                parts.append(try repr(ref, depth: depth - 1, maxItems: maxItems))
            }
        default:
            count = record.liveCount
            if record.kind == .set && count == 0 { return "set()" }
            var entry = 0
            while entry + 1 < record.refs.count, parts.count < maxItems {
                let key = record.refs[entry]
                if key != HeapImage.noRef {
                    var part = try repr(key, depth: depth - 1, maxItems: maxItems)
                    if record.kind == .dict {
                        part += ": " + (try repr(record.refs[entry + 1], depth: depth - 1, maxItems: maxItems))
                    }
                    parts.append(part)
                }
                entry += 2
            }
        }
        var text = open + parts.joined(separator: ", ")
        if count > parts.count { text += ", ...(\(count - parts.count) more)" }
        if record.kind == .tuple && count == 1 { text += "," }
        return text + close
    }
}
