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
        case .float: return PythonLiteral.float(object.floatValue)
        case .str: return PythonLiteral.string(String(decoding: object.bytes, as: UTF8.self))
        case .bytes: return PythonLiteral.bytes(UnsafeRawBufferPointer(object.bytes), limit: 64)
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
}

/// Thrown to stop a walk over a hash table once a prefix is full.
private struct PrefixFull: Error {}
