/// `TYPES`: every live object counted by type, like objgraph's `show_most_common_types` and the JVM's
/// `jcmd GC.class_histogram`.
extension Heap {
    /// Live objects by type name (instances by class name) with the bytes they occupy, most numerous
    /// first, ties by name. The immortal singletons are not counted (as in `INFO objects`). Caller
    /// holds the gate exclusively.
    public func typeCensusStopped() -> [TypeCount] {
        var byName: [String: TypeCount] = [:]
        for slot in UInt32(ObjectRef.immortalCount)..<UInt32(table.slotsEverUsed) {
            guard let object = liveObjectStopped(slot) else { continue }
            let name = typeName(of: ObjectRef(slot: slot))
            byName[name, default: TypeCount(name: name, count: 0, bytes: 0)].add(bytes: footprintStopped(object))
        }
        return byName.values.sorted { $0.count != $1.count ? $0.count > $1.count : $0.name < $1.name }
    }

    /// The bytes an object occupies: its block and its separately allocated payload (a list's item
    /// array, a hash table), as the allocator hands them out — what `INFO objects` counts per kind.
    func footprintStopped(_ object: ObjectLayout) -> Int {
        var bytes = SizeClass.footprint(object.blockSize)
        switch object.kind {
        case .list where object.listCapacity > ObjectLayout.listInlineCapacity:
            bytes += SizeClass.footprint(object.listCapacity * 4)
        case .dict, .set, .object:
            if let storage = object.hashStorage { bytes += SizeClass.footprint(HashStorage(base: storage).byteSize) }
        default:
            break
        }
        return bytes
    }
}

/// One line of the census: a type, how many live objects it has and their bytes.
public struct TypeCount: Sendable, Equatable {
    public let name: String
    public private(set) var count: Int
    public private(set) var bytes: Int

    public init(name: String, count: Int, bytes: Int) {
        self.name = name
        self.count = count
        self.bytes = bytes
    }

    mutating func add(bytes: Int) {
        count += 1
        self.bytes += bytes
    }
}
