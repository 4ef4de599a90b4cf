/// `TYPES`: every live object counted by type, like objgraph's `show_most_common_types` and the JVM's
/// `jcmd GC.class_histogram`.
///
/// The census walks the handle table's slots in order and can stop between two slots and go on later
/// (``TypeCensus``), so a server can count a heap of ten million objects in steps of a millisecond with
/// the world stopped, letting every client run in between. Counted that way, it has the guarantee of
/// Redis's `SCAN`: each slot is examined once, so an object alive from the first step to the last is
/// counted exactly once, and one created or freed meanwhile is counted at most once.
extension StoppedHeap {
    /// Live objects by type name (instances by class name) with the bytes they occupy, most numerous
    /// first, ties by name. The immortal singletons are not counted (as in `INFO objects`).
    public func typeCensus() -> [TypeCount] {
        var census = TypeCensus()
        var budget = StepBudget.unlimited
        _ = census.advance(in: self, budget: &budget)
        return census.result
    }

    /// The bytes an object occupies (``Heap/footprint(_:)``).
    func footprint(_ object: ObjectLayout) -> Int { heap.footprint(object) }
}

/// A census in progress: the slots below ``nextSlot`` are counted.
public struct TypeCensus: Sendable {
    private var byName: [String: TypeCount] = [:]
    private var nextSlot = UInt32(ObjectRef.immortalCount)

    public init() {}

    /// Counts slots from where the last step stopped until `budget` is spent or every slot is counted
    /// (returns true then).
    public mutating func advance(in stopped: borrowing StoppedHeap, budget: inout StepBudget) -> Bool {
        let heap = stopped.heap
        while nextSlot < UInt32(heap.table.slotsEverUsed) {
            guard budget.spend() else { return false }
            let slot = nextSlot
            nextSlot += 1
            guard let object = stopped.liveObject(slot) else { continue }
            let name = heap.typeName(of: ObjectRef(slot: slot))
            byName[name, default: TypeCount(name: name, count: 0, bytes: 0)].add(bytes: stopped.footprint(object))
        }
        return true
    }

    /// The counts so far, most numerous first, ties by name.
    public var result: [TypeCount] {
        byName.values.sorted { $0.count != $1.count ? $0.count > $1.count : $0.name < $1.name }
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
