/// What `DOCTOR` finds, as typed values (Redis's `MEMORY DOCTOR` for heapd); the server renders them
/// in plain language (`MemoryReport+Text.swift` in HeapServer: no prose is built in the core).
///
/// Each kind of problem is one case with the figures it needs; a new kind of finding is one more case
/// and its paragraph there.
public enum MemoryFinding: Sendable, Equatable {
    /// Objects alive but unreachable from any root, held by reference cycles until a collection.
    case cyclicGarbage(objects: Int, bytes: Int, cycles: [ReferenceCycle], cycleCount: Int)
    /// Unreachable objects with a legacy finalizer (`FINALIZER x LEGACY`): the next collection cannot
    /// free their cycles and moves them to `gc.garbage` instead.
    case legacyFinalizersInGarbage([ObjectSummary])
    /// Automatic collection is off (`GC DISABLE`, or threshold 0 of 0) while cyclic garbage waits.
    case collectionDisabled(garbageObjects: Int, thresholdZero: Bool)
    /// `gc.garbage` holds uncollectable objects, and what only they keep alive stays with them.
    case uncollectableGarbage(entries: [ObjectSummary], total: Int, heldObjects: Int, heldBytes: Int)
    /// A global alone keeps a large part of the heap alive (nothing else reaches those objects).
    case globalKeepsAlive(name: String, objects: Int, bytes: Int, heapBytes: Int)
    /// Between the last two tracemalloc snapshots, traced memory grew; `biggest` is the line that grew
    /// most (Python's `compare_to(old, "lineno")[0]`), `total` the growth of all lines together.
    case snapshotGrowth(old: Int, new: Int, biggest: TraceStatisticDiff, total: Int)
}

/// An object named for a report: `list #17`.
public struct ObjectSummary: Sendable, Equatable {
    public let typeName: String
    public let id: ObjectID

    public init(typeName: String, id: ObjectID) {
        self.typeName = typeName
        self.id = id
    }
}

/// A reference cycle (a strongly connected group of objects, or one object referencing itself): its
/// size, its types, and its first members.
public struct ReferenceCycle: Sendable, Equatable {
    public let size: Int
    /// Types and how many members have each, most numerous first.
    public let types: [TypeCount]
    /// The first few members, by id.
    public let members: [ObjectSummary]
}

/// `DOCTOR`'s answer: the findings (HeapServer words them).
public struct MemoryReport: Sendable, Equatable {
    public var findings: [MemoryFinding]

    public init(findings: [MemoryFinding]) {
        self.findings = findings
    }
}
