/// `GRAPH` offline: the neighbourhood of one object of a heap image, found and drawn by the rules the
/// live `GRAPH` follows (HeapCore's `ReferenceGraphBuilder`), so that `heapctl inspect IMAGE --graph
/// @i` and `heapctl graph` draw the same picture of the same heap:
///
/// - what the object references (or, with `referrers`, what references it), breadth first to `depth`
///   levels and at most `maxNodes` objects; the rest counted in ``leftOut``. An instance's class name
///   and attribute names are not followed forwards (they would hang off every instance); referrers
///   are found by a scan of every record, in image order (the live scan goes in slot order);
/// - every reference among the objects found, labelled as Python reaches it (`[3]`, `['key']`,
///   `.attr`, `(key 'k')`, `{item}`, `.__class__`);
/// - the roots that hold one of them directly: the globals (`g.name`, by name) and `gc.garbage[i]`
///   (session variables do not survive into an image);
/// - for each object whether a root reaches it (false: cyclic garbage the next collection frees).
///
/// Objects are named `@i`, their index in the image, and the singletons by their literal (`None`);
/// a singleton's count is not kept in an image (it is immortal), so it shows 0.
public struct ImageReferenceGraph: Sendable {
    public struct Node: Sendable, Equatable {
        public let id: String
        public let type: String
        /// The count the image holds: the live count less the references of session variables.
        public let refcount: Int
        /// `gen0`, `gen1`, `gen2`, `frozen` or `untracked`, as the live graph says it.
        public let state: String
        public let repr: String
        public let reachable: Bool
        /// `len(x)` for str, bytes, tuple, list, dict and set.
        public let length: Int?
        /// Its block and payload, as `TYPES` counts them.
        public let bytes: Int
    }

    public struct Edge: Sendable, Equatable {
        public let from: String
        public let to: String
        public let label: String
    }

    public struct Root: Sendable, Equatable {
        public let label: String
        public let to: String
    }

    /// The first node is the object the graph is drawn around.
    public private(set) var nodes: [Node] = []
    public private(set) var edges: [Edge] = []
    public private(set) var roots: [Root] = []
    /// Objects found but left out because the graph reached `maxNodes`.
    public private(set) var leftOut = 0

    /// The graph around object `@index` of `image` (checked by ``ImageReader``); throws `corrupt` if a
    /// record fails to decode, and a caller checks `index < image.objectCount` first.
    public init(
        _ image: HeapImage, around index: Int, depth: Int = 3, referrers: Bool = false, maxNodes: Int = 200
    ) throws(ImageError) {
        precondition(index >= 0 && index < image.objectCount, "no object @\(index) in the image")
        let records = try ImageRecords(image)
        let repr = ImageRepr(image, records: records)
        let first = HeapImage.firstObjectRef
        let target = first + UInt32(index)
        var record = ObjectRecord()

        // The neighbourhood: `order` the refs found, in the order found.
        var order = [target]
        var included: Set<UInt32> = [target]
        var leftOut: Set<UInt32> = []
        var frontier = [target]
        func include(_ ref: UInt32) {
            guard ref != HeapImage.noRef, !included.contains(ref) else { return }
            guard order.count < maxNodes else {
                leftOut.insert(ref)
                return
            }
            included.insert(ref)
            order.append(ref)
        }
        var level = 0
        // Invariant: `frontier` holds the refs first found at `level`; every ref found is in
        // `included` or `leftOut`, never both.
        while level < depth && !frontier.isEmpty {
            let found = order.count
            if referrers {
                let wanted = Set(frontier)
                for candidate in 0..<records.count {
                    try records.decode(candidate, into: &record)
                    guard record.kind.isContainer else { continue }
                    var refers = false
                    record.forEachReference { if wanted.contains($0) { refers = true } }
                    if refers { include(first + UInt32(candidate)) }
                }
            } else {
                for ref in frontier where ref >= first {
                    try records.decode(Int(ref - first), into: &record)
                    if record.kind == .object {
                        // Only the attribute values: the class name and attribute names are strs.
                        var entry = 0
                        while entry + 1 < record.refs.count {
                            if record.refs[entry] != HeapImage.noRef { include(record.refs[entry + 1]) }
                            entry += 2
                        }
                    } else if record.kind.isContainer {
                        record.forEachReference { include($0) }
                    }
                }
            }
            frontier = Array(order[found...])
            level += 1
        }

        let reachable = try Self.reachable(image, records)
        for ref in order {
            try draw(ref, records: records, repr: repr, reachable: reachable, included: included)
        }
        var rootList: [(label: String, ref: UInt32)] = image.globals.map { ("g." + $0.name, $0.ref) }
        rootList += image.garbage.enumerated().map { ("gc.garbage[\($0.offset)]", $0.element) }
        for (label, ref) in rootList where included.contains(ref) {
            roots.append(Root(label: label, to: ImageRepr.name(ref)))
        }
        self.leftOut = leftOut.count
    }

    /// Which of the image's objects a root reaches (indexed by object), by a breadth-first walk.
    private static func reachable(_ image: HeapImage, _ records: ImageRecords) throws(ImageError) -> [Bool] {
        let first = HeapImage.firstObjectRef
        var reached = [Bool](repeating: false, count: records.count)
        var queue: [Int] = []
        func reach(_ ref: UInt32) {
            guard ref >= first, ref != HeapImage.noRef, !reached[Int(ref - first)] else { return }
            reached[Int(ref - first)] = true
            queue.append(Int(ref - first))
        }
        for (_, ref) in image.globals { reach(ref) }
        for ref in image.garbage { reach(ref) }
        var head = 0
        var record = ObjectRecord()
        // Invariant: reached[i] exactly for the objects queued; queue[head...] not yet expanded.
        while head < queue.count {
            try records.decode(queue[head], into: &record)
            head += 1
            record.forEachReference { reach($0) }
        }
        return reached
    }

    /// Appends the node for `ref` and its labelled references to the other nodes.
    private mutating func draw(
        _ ref: UInt32, records: ImageRecords, repr: ImageRepr, reachable: [Bool], included: Set<UInt32>
    ) throws(ImageError) {
        let id = ImageRepr.name(ref)
        guard ref >= HeapImage.firstObjectRef else {
            let type = try repr.typeName(ref)
            nodes.append(
                Node(
                    id: id, type: type, refcount: 0, state: "untracked", repr: id, reachable: true,
                    length: ref == HeapImage.emptyTupleRef ? 0 : nil, bytes: 0))
            return
        }
        let index = Int(ref - HeapImage.firstObjectRef)
        let record = try records.record(index)
        let state: String
        if !record.kind.isContainer || record.flags & ObjectFlags.tracked == 0 {
            state = "untracked"
        } else {
            let generation = ObjectFlags.generation(record.flags)
            state = generation == 3 ? "frozen" : "gen\(generation)"
        }
        let length: Int? =
            switch record.kind {
            case .str: String(decoding: record.contents, as: UTF8.self).unicodeScalars.count
            case .bytes: record.contents.count
            case .list, .tuple: record.refs.count
            case .dict, .set: record.liveCount
            default: nil
            }
        nodes.append(
            Node(
                id: id, type: try repr.typeName(ref), refcount: Int(record.refcount), state: state,
                repr: try repr.short(ref), reachable: reachable[index], length: length,
                bytes: ImageAnalysis.footprint(of: record)))
        for (child, label) in try Self.labelledReferences(of: record, among: included, repr: repr) {
            edges.append(Edge(from: id, to: ImageRepr.name(child), label: label))
        }
    }

    /// Each reference of `record` to one of `among`, with how Python reaches it (HeapCore's
    /// `ReferenceLabel` texts). A label is written only for a reference kept: a dict of a million
    /// entries costs a million set lookups, not a million key reprs.
    private static func labelledReferences(of record: ObjectRecord, among included: Set<UInt32>, repr: ImageRepr)
        throws(ImageError) -> [(UInt32, String)]
    {
        var result: [(UInt32, String)] = []
        switch record.kind {
        case .list, .tuple:
            for (position, ref) in record.refs.enumerated() where included.contains(ref) {
                result.append((ref, "[\(position)]"))
            }
        case .dict, .set, .object:
            if record.kind == .object && included.contains(record.link) { result.append((record.link, ".__class__")) }
            var entry = 0
            while entry + 1 < record.refs.count {
                let key = record.refs[entry]
                let value = record.refs[entry + 1]
                entry += 2
                guard key != HeapImage.noRef, included.contains(key) || included.contains(value) else { continue }
                switch record.kind {
                case .set:
                    result.append((key, "{item}"))
                case .dict:
                    let keyText = try repr.short(key)
                    if included.contains(key) { result.append((key, "(key \(keyText))")) }
                    if included.contains(value) { result.append((value, "[\(keyText)]")) }
                default:
                    let name = try repr.text(of: key)
                    if included.contains(key) { result.append((key, "(attribute name '\(name)')")) }
                    if included.contains(value) { result.append((value, ".\(name)")) }
                }
            }
        default:
            record.forEachReference { if included.contains($0) { result.append(($0, "(referent)")) } }
        }
        return result
    }
}
