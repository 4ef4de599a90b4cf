/// Generators: lazy iterators whose items are made only when asked for, the objects behind Python's
/// advice "use a generator instead of a list" (measure it with tracemalloc's peak).
///
/// A generator is a tracked container. An iterator (`iter(x)`) holds a counted reference to what it
/// iterates over, so a list that holds its own iterator is a cycle only the collector frees; once it
/// finds no next item it drops that reference, as CPython's iterators do. A range holds no reference:
/// it makes each int at the moment it produces it, so `sum(range(n))` never has more than one alive.
///
/// Locking: a generator's state is read and advanced under its own lock; a list, dict or set source is
/// read under the source's lock, taken inside the generator's (always in that order: nothing takes a
/// generator's lock while holding another container's). New items are allocated, and a dropped source
/// released, after unlocking, so a cascade of frees never runs under a lock.
extension Heap {
    /// What a generator produces (stored in the object's mode byte); defined with the image format.
    typealias GeneratorMode = HeapImageFormat.GeneratorMode

    // MARK: Creation

    /// `iter(range(start, stop, step))`: a generator of ints made one at a time. `VALUE` for step 0.
    public func makeRange(start: Int64, stop: Int64, step: Int64 = 1, shard: Int = 0) throws(HeapError) -> ObjectRef {
        guard step != 0 else { throw HeapError(.value, "range() arg 3 must not be zero") }
        let (ref, object) = try allocateObject(kind: .generator, size: ObjectLayout.generatorSize, shard: shard)
        object.generatorSource = ObjectLayout.noLink
        object.generatorMode = GeneratorMode.range.rawValue
        object.generatorPosition = start
        object.generatorStep = step
        object.generatorRemaining = Self.rangeLength(start: start, stop: stop, step: step)
        track(ref)
        return ref
    }

    /// `len(range(start, stop, step))`, exact over the whole Int64 domain (up to 2⁶⁴ − 1 values).
    static func rangeLength(start: Int64, stop: Int64, step: Int64) -> UInt64 {
        if step > 0 {
            guard start < stop else { return 0 }
            // stop - start is in 1..<2⁶⁴: its bit pattern read unsigned is exact.
            return (UInt64(bitPattern: stop &- start) - 1) / step.magnitude + 1
        }
        guard start > stop else { return 0 }
        return (UInt64(bitPattern: start &- stop) - 1) / step.magnitude + 1
    }

    /// `iter(x)` for a list, tuple, dict (its keys), set or str: a generator holding a reference to
    /// `x` (borrowed). A generator is its own iterator: it is returned with one more reference.
    /// `WRONGTYPE` for anything else.
    public func makeIterator(over source: ObjectRef, shard: Int = 0) throws(HeapError) -> ObjectRef {
        let sourceLayout = layout(source)
        let mode: GeneratorMode
        var expectedSize: Int64 = 0
        switch sourceLayout.kind {
        case .generator:
            retain(source)
            return source
        case .list: mode = .list
        case .tuple: mode = .tuple
        case .dict, .set:
            mode = sourceLayout.kind == .dict ? .dictKeys : .set
            expectedSize = Int64(sourceLayout.lock.withLock { sourceLayout.count })
        case .str: mode = .str
        default:
            throw HeapError(.wrongType, "'\(typeName(of: source))' object is not iterable")
        }
        let (ref, object) = try allocateObject(kind: .generator, size: ObjectLayout.generatorSize, shard: shard)
        // The empty tuple is immortal: iterating it needs no reference (and nothing to drop).
        if !source.isImmortal { retain(source) }
        object.generatorSource = source.isImmortal ? ObjectLayout.noLink : source.slot
        object.generatorMode = mode.rawValue
        object.generatorPosition = 0
        object.generatorStep = expectedSize
        object.generatorRemaining = 0
        track(ref)
        return ref
    }

    // MARK: Iteration

    /// One step of a generator, decided under its lock and carried out after unlocking.
    private enum GeneratorStep {
        /// An existing object, already retained for the caller.
        case item(UInt32)
        /// A new int to make.
        case int(Int64)
        /// A new 1-character str to make.
        case character(String)
        /// No next item; the source reference the generator just dropped, to release.
        case exhausted(dropped: UInt32?)
        case failed(HeapError)
    }

    /// `next(g)`: the next item as a new reference (the caller releases it), made only now for a
    /// range or a str; nil when the generator is exhausted (Python's `StopIteration`).
    /// `WRONGTYPE` when `generator` is not one; `VALUE` when a dict or set changed size under it.
    public func next(_ generator: ObjectRef, shard: Int = 0) throws(HeapError) -> ObjectRef? {
        let object = layout(generator)
        guard object.kind == .generator else {
            throw HeapError(.wrongType, "'\(typeName(of: generator))' object is not an iterator")
        }
        let step = object.lock.withLock { () -> GeneratorStep in
            willMutate(generator.slot)
            return advance(object)
        }
        switch step {
        case .item(let slot):
            return ObjectRef(slot: slot)
        case .int(let value):
            return try makeInt(value, shard: shard)
        case .character(let text):
            return try makeStr(text, shard: shard)
        case .exhausted(let dropped):
            if let dropped { release(ObjectRef(slot: dropped), shard: shard) }
            return nil
        case .failed(let error):
            throw error
        }
    }

    /// Advances a generator by one item. The caller holds the generator's lock.
    private func advance(_ object: ObjectLayout) -> GeneratorStep {
        guard let mode = GeneratorMode(rawValue: object.generatorMode) else {
            preconditionFailure("heapd: generator \(object.slot) has mode \(object.generatorMode) (heap corrupted)")
        }
        if mode == .range {
            let remaining = object.generatorRemaining
            guard remaining > 0 else { return .exhausted(dropped: nil) }
            let value = object.generatorPosition
            object.generatorRemaining = remaining - 1
            // Only while values remain: the one after the last may lie outside Int64.
            if remaining > 1 { object.generatorPosition = value &+ object.generatorStep }
            return .int(value)
        }
        let sourceSlot = object.generatorSource
        // An exhausted iterator, or one over the (immortal, empty) `()`.
        guard sourceSlot != ObjectLayout.noLink else { return .exhausted(dropped: nil) }
        let source = layout(sourceSlot)
        let position = Int(object.generatorPosition)
        var produced: GeneratorStep?
        switch mode {
        case .list:
            // The list's current length at each step: items appended meanwhile are produced too.
            let item = source.lock.withLock { () -> UInt32? in
                guard position < source.count else { return nil }
                let slot = source.listItems[position]
                retain(ObjectRef(slot: slot))
                return slot
            }
            if let item {
                object.generatorPosition += 1
                produced = .item(item)
            }
        case .tuple:
            if position < source.count {
                let slot = source.tupleItems[position]
                retain(ObjectRef(slot: slot))
                object.generatorPosition += 1
                produced = .item(slot)
            }
        case .dictKeys, .set:
            let expected = object.generatorStep
            let found = source.lock.withLock { () -> (entry: Int, key: UInt32)?? in
                // CPython's dictiter and setiter: a size change is an error, and stays one.
                guard expected >= 0, Int64(source.count) == expected else { return .none }
                guard let base = source.hashStorage else { return .some(nil) }
                let storage = HashStorage(base: base)
                var entry = position
                while entry < storage.used {
                    let key = storage.key(at: entry)
                    if key != HashStorage.deletedKey {
                        retain(ObjectRef(slot: key))
                        return .some((entry, key))
                    }
                    entry += 1
                }
                return .some(nil)
            }
            switch found {
            case .none:
                object.generatorStep = -1
                let what = mode == .set ? "set" : "dictionary"
                return .failed(HeapError(.value, "\(what) changed size during iteration"))
            case .some(.some(let hit)):
                object.generatorPosition = Int64(hit.entry + 1)
                produced = .item(hit.key)
            case .some(.none):
                break
            }
        case .str:
            let bytes = UnsafeRawBufferPointer(source.bytes)
            if position < bytes.count {
                // The str holds valid UTF-8 (checked when it was made): the lead byte gives the length.
                let lead = bytes[position]
                let length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
                let end = min(position + length, bytes.count)
                let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<end]), as: UTF8.self)
                object.generatorPosition = Int64(end)
                produced = .character(text)
            }
        case .range:
            preconditionFailure("handled above")
        }
        if let produced { return produced }
        // Exhausted: drop the source now (its release happens after unlocking).
        object.generatorSource = ObjectLayout.noLink
        return .exhausted(dropped: sourceSlot)
    }

    // MARK: Consumers

    /// `list(x)`: a new list of a generator's remaining items (consuming it), or of the items of any
    /// iterable ``makeIterator(over:shard:)`` accepts. If making an item fails, the items made so far
    /// are freed and the generator stays consumed up to that point, as in Python. With a `safepoint`,
    /// it is called between items with the iterator and the list built so far (whose items are counted
    /// inside it), and an error it throws is handled as a failed item; a suspension is continued at
    /// once (``IterableConsumer`` is the form that returns instead).
    public func makeList(from iterable: ObjectRef, shard: Int = 0, safepoint: (any Safepoint)? = nil)
        throws(HeapError) -> ObjectRef
    {
        let consumer = try IterableConsumer(heap: self, consuming: iterable, for: .list, shard: shard)
        while true {
            if let list = try consumer.resume(safepoint: safepoint) { return list }
        }
    }

    /// `sum(x)` over ints, floats and bools, one item at a time: a generator's items are made and
    /// released in turn, so the peak holds one item. As CPython 3.11 does: ints add exactly until a
    /// float comes, then floats add in order. `TYPE` for any other item (the generator stays consumed
    /// up to and including it); `VALUE` when the int sum does not fit in 64 bits (Python's ints would
    /// grow). Partial sums are kept in 128 bits, so only the result must fit, as in Python. With a
    /// `safepoint`, it is called between items with the iterator (no item is alive then; the partial
    /// sum is a number, not an object), and an error it throws ends the sum.
    public func sum(_ iterable: ObjectRef, shard: Int = 0, safepoint: (any Safepoint)? = nil) throws(HeapError)
        -> ObjectRef
    {
        let consumer = try IterableConsumer(heap: self, consuming: iterable, for: .sum, shard: shard)
        while true {
            if let total = try consumer.resume(safepoint: safepoint) { return total }
        }
    }

    // MARK: Verification

    /// What is wrong with a generator's fields, if anything (for the verifier; `isLive` says whether a
    /// slot holds a live object).
    func generatorProblem(_ object: ObjectLayout, isLive: (UInt32) -> Bool) -> String? {
        guard let mode = GeneratorMode(rawValue: object.generatorMode) else {
            return "invalid mode \(object.generatorMode)"
        }
        let source = object.generatorSource
        if mode == .range {
            return source == ObjectLayout.noLink ? nil : "a range references slot \(source)"
        }
        guard source != ObjectLayout.noLink, isLive(source) else { return nil }
        let expected: ObjectKind =
            switch mode {
            case .list: .list
            case .tuple: .tuple
            case .dictKeys: .dict
            case .set: .set
            case .str, .range: .str
            }
        let kind = layout(source).kind
        return kind == expected ? nil : "a \(mode) iterator references a \(kind)"
    }
}
