import HeapFormatting

/// What `heapctl inspect` shows of an image without a daemon: types with counts and bytes, the
/// objects that retain the most (from the dominator tree), the globals by what they retain, and the
/// cyclic garbage no root reaches. Objects are named `@i`, their index in the image (ids are not
/// kept).
///
/// Bytes are counted as `INFO objects` and `TYPES` count them on the live heap: each object's block
/// and its separate payload (a list's item array, a hash table), rounded to their size classes.
public struct ImageAnalysis: Sendable {
    public struct TypeRow: Sendable, Equatable {
        public let name: String
        public let count: Int
        public let bytes: Int
    }

    public struct ObjectRow: Sendable, Equatable {
        /// `@i`.
        public let name: String
        public let type: String
        public let bytes: Int
        public let retained: Int
        /// The root whose dominator subtree holds it: `g.name`, `gc.garbage`, or `several roots`.
        public let heldBy: String
    }

    public let objects: Int
    public let bytes: Int
    public let types: [TypeRow]
    /// By retained size, largest first (at most `limit`).
    public let biggest: [ObjectRow]
    /// Every global, by retained size.
    public let globals: [ObjectRow]
    public let garbageListLength: Int
    /// Objects no global or `gc.garbage` entry reaches: cyclic garbage the next collection frees.
    public let unreachableObjects: Int
    public let unreachableBytes: Int
    /// The unreachable objects by type, most bytes first: what the next collection frees.
    public let unreachableTypes: [TypeRow]
    /// The graph, kept for ``chain(to:)``: node 0 the roots, object i node i + 1.
    private let successors: [[Int]]
    private let typeNames: [String]
    /// For each root's target node, the root's name (the first global by name, else `gc.garbage`).
    private let rootNames: [Int: String]

    public init(_ image: HeapImage, limit: Int = 10) throws(ImageError) {
        let count = image.objectCount
        // Node 0 is a virtual root; object i is node i + 1.
        var successors = [[Int]](repeating: [], count: count + 1)
        var sizes = [Int](repeating: 0, count: count + 1)
        var typeNames = [String](repeating: "", count: count + 1)
        var strings: [Int: String] = [:]
        var classNames: [(node: Int, ref: UInt32)] = []
        func node(_ ref: UInt32) -> Int? {
            ref >= HeapImage.firstObjectRef && ref != HeapImage.noRef ? Int(ref - HeapImage.firstObjectRef) + 1 : nil
        }
        var reader = ImageBytesReader(image.objectRecords, shortage: .corrupt, what: "an object record")
        var record = ObjectRecord()
        for index in 0..<count {
            try ObjectRecord.decode(from: &reader, into: &record)
            let current = index + 1
            record.forEachReference { ref in
                if let target = node(ref) { successors[current].append(target) }
            }
            typeNames[current] = record.kind.description
            if record.kind == .object { classNames.append((current, record.link)) }
            if record.kind == .str, record.contents.count <= 256 {
                strings[current] = String(decoding: record.contents, as: UTF8.self)
            }
            sizes[current] = Self.footprint(of: record)
        }
        for (current, ref) in classNames {
            if let name = node(ref).flatMap({ strings[$0] }) { typeNames[current] = name }
        }
        var rootNames: [Int: String] = [:]
        for (name, ref) in image.globals {
            guard let target = node(ref) else { continue }
            successors[0].append(target)
            if rootNames[target] == nil { rootNames[target] = "g." + name }
        }
        for ref in image.garbage {
            guard let target = node(ref) else { continue }
            successors[0].append(target)
            if rootNames[target] == nil { rootNames[target] = "gc.garbage" }
        }

        let tree = DominatorTree(successors: successors)
        let retained = tree.retainedSizes(sizes)
        func heldBy(_ start: Int) -> String {
            var current = start
            while tree.idom[current] != 0 && tree.idom[current] != current { current = tree.idom[current] }
            return rootNames[current] ?? "several roots"
        }
        func row(_ node: Int) -> ObjectRow {
            ObjectRow(
                name: "@\(node - 1)", type: typeNames[node], bytes: sizes[node], retained: retained[node],
                heldBy: heldBy(node))
        }

        var byType: [String: (count: Int, bytes: Int)] = [:]
        var unreachable = (objects: 0, bytes: 0)
        var unreachableByType: [String: (count: Int, bytes: Int)] = [:]
        for current in stride(from: 1, through: count, by: 1) {
            byType[typeNames[current], default: (0, 0)].count += 1
            byType[typeNames[current], default: (0, 0)].bytes += sizes[current]
            if tree.idom[current] == -1 {
                unreachable.objects += 1
                unreachable.bytes += sizes[current]
                unreachableByType[typeNames[current], default: (0, 0)].count += 1
                unreachableByType[typeNames[current], default: (0, 0)].bytes += sizes[current]
            }
        }
        unreachableTypes = unreachableByType.map { TypeRow(name: $0.key, count: $0.value.count, bytes: $0.value.bytes) }
            .sorted { ($0.bytes, $1.name) > ($1.bytes, $0.name) }
        objects = count
        bytes = sizes.reduce(0, +)
        types = byType.map { TypeRow(name: $0.key, count: $0.value.count, bytes: $0.value.bytes) }
            .sorted { ($0.bytes, $1.name) > ($1.bytes, $0.name) }
        let reached = (1..<(count + 1)).filter { tree.idom[$0] != -1 }
        biggest = reached.sorted { (retained[$0], $1) > (retained[$1], $0) }.prefix(limit).map(row)
        var named: [ObjectRow] = []
        for (name, ref) in image.globals {
            guard let target = node(ref) else { continue }
            let base = row(target)
            named.append(
                ObjectRow(
                    name: "g." + name, type: base.type, bytes: base.bytes, retained: base.retained, heldBy: base.name))
        }
        globals = named.sorted { ($0.retained, $1.name) > ($1.retained, $0.name) }
        garbageListLength = image.garbage.count
        unreachableObjects = unreachable.objects
        unreachableBytes = unreachable.bytes
        self.successors = successors
        self.typeNames = typeNames
        self.rootNames = rootNames
    }

    /// `CHAIN` offline: the shortest path of references from a root (a global or `gc.garbage`) to
    /// object `@index`, as `g.name (type) -> @i (type) -> …`; nil when no root reaches it (garbage)
    /// or there is no such object. A breadth-first search from the roots, in the image's order.
    public func chain(to index: Int) -> [String]? {
        let target = index + 1
        guard index >= 0, target < successors.count else { return nil }
        var parent = [Int](repeating: -1, count: successors.count)
        var queue = [0]
        parent[0] = 0
        var head = 0
        // Invariant: parent[v] != -1 exactly for nodes already queued; each is queued once.
        while head < queue.count, parent[target] == -1 {
            let current = queue[head]
            head += 1
            for next in successors[current] where parent[next] == -1 {
                parent[next] = current
                queue.append(next)
            }
        }
        guard parent[target] != -1 else { return nil }
        var path: [Int] = []
        var current = target
        while current != 0 {
            path.append(current)
            current = parent[current]
        }
        path.reverse()
        return path.enumerated().map { position, node in
            let label = position == 0 ? (rootNames[node] ?? "@\(node - 1)") : "@\(node - 1)"
            return "\(label) (\(typeNames[node]))"
        }
    }

    /// An object's bytes as the live heap counts them (HeapCore's verifier and `TYPES`): its block and
    /// its separate payload, each rounded to its size class.
    package static func footprint(of record: ObjectRecord) -> Int {
        switch record.kind {
        case .int, .float: return SizeClass.footprint(ObjectSize.scalar)
        case .str, .bytes: return SizeClass.footprint(ObjectSize.bytesHeader + record.contents.count)
        case .list:
            let block = SizeClass.footprint(ObjectSize.list)
            let inline =
                record.refs.count <= ObjectSize.listInlineCapacity
                && record.capacity <= ObjectSize.listInlineMaxAllocated
            return block + (inline ? 0 : SizeClass.footprint(record.capacity * 4))
        case .tuple: return SizeClass.footprint(ObjectSize.tuple(count: record.refs.count))
        case .dict, .set, .object:
            return SizeClass.footprint(ObjectSize.hashObject)
                + (record.capacity > 0 ? SizeClass.footprint(HashTableSize.byteSize(size: record.capacity)) : 0)
        case .weakref: return SizeClass.footprint(ObjectSize.weakref)
        case .generator: return SizeClass.footprint(ObjectSize.generator)
        case .none, .bool: return 0
        }
    }

    /// The analysis as text for people: the figures `heapctl inspect` prints.
    public func report(limit: Int = 10) -> String {
        var lines: [String] = []
        lines.append(
            "\(objects) objects, \(formatBytes(bytes)); \(globals.count) globals; gc.garbage \(garbageListLength);"
                + " unreachable (cyclic garbage) \(unreachableObjects) objects, \(formatBytes(unreachableBytes))")
        lines.append("")
        lines.append("types (by bytes):")
        for row in types.prefix(limit) {
            lines.append(
                "  \(pad(row.name, 24)) \(pad(String(row.count), 10, right: true)) \(pad(formatBytes(row.bytes), 12, right: true))"
            )
        }
        if types.count > limit { lines.append("  … \(types.count - limit) more types") }
        lines.append("")
        lines.append("biggest objects (by retained size: what freeing them would free):")
        for row in biggest {
            lines.append(
                "  \(pad(row.name, 10)) \(pad(row.type, 16)) self \(pad(formatBytes(row.bytes), 10, right: true))"
                    + "  retained \(pad(formatBytes(row.retained), 10, right: true))  held by \(row.heldBy)")
        }
        lines.append("")
        lines.append("globals (by retained size):")
        for row in globals.prefix(limit) {
            lines.append(
                "  \(pad(row.name, 24)) \(pad(row.type, 16)) retained \(pad(formatBytes(row.retained), 10, right: true))  (\(row.heldBy))"
            )
        }
        if globals.count > limit { lines.append("  … \(globals.count - limit) more globals") }
        if !unreachableTypes.isEmpty {
            lines.append("")
            lines.append("unreachable (cyclic garbage the next collection frees), by type:")
            for row in unreachableTypes.prefix(limit) {
                lines.append(
                    "  \(pad(row.name, 24)) \(pad(String(row.count), 10, right: true)) \(pad(formatBytes(row.bytes), 12, right: true))"
                )
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let space = String(repeating: " ", count: max(0, width - text.count))
        return right ? space + text : text + space
    }
}
