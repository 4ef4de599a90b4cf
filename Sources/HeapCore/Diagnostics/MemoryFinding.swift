/// What `DOCTOR` finds, as typed values rendered to plain language (Redis's `MEMORY DOCTOR` for heapd).
///
/// Each kind of problem is one case with the figures it needs and one paragraph of text; a new kind of
/// finding is one more case and its paragraph.
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

    /// The finding as a paragraph: a first line, then indented detail lines.
    public var lines: [String] {
        switch self {
        case .cyclicGarbage(let objects, let bytes, let cycles, let cycleCount):
            var lines = [
                "Cyclic garbage: \(Self.objects(objects)) (\(formatBytes(bytes))) are alive but unreachable from"
                    + " any variable, global or gc.garbage. Reference counting cannot free them; the next"
                    + " collection of their generation will (GC COLLECT frees them now).",
                "  \(cycleCount == 1 ? "1 reference cycle holds" : "\(cycleCount) reference cycles hold") them:",
            ]
            lines += cycles.map { "  - \($0)" }
            if cycleCount > cycles.count { lines.append("  - and \(cycleCount - cycles.count) more cycles") }
            return lines
        case .legacyFinalizersInGarbage(let objects):
            return [
                "Legacy finalizers in cycles: \(Self.list(objects)) \(objects.count == 1 ? "has" : "have") a"
                    + " legacy finalizer (tp_del) and \(objects.count == 1 ? "is" : "are") part of cyclic"
                    + " garbage. The collector cannot free such a cycle: the next collection moves"
                    + " \(objects.count == 1 ? "it" : "them") to gc.garbage as uncollectable. Break the cycle"
                    + " (DELITEM, DELATTR, CLEAR) while it is still reachable, or give up the legacy finalizer."
            ]
        case .collectionDisabled(let garbage, let thresholdZero):
            let how = thresholdZero ? "threshold 0 is 0 (GC SET_THRESHOLD)" : "GC DISABLE"
            return [
                "Automatic collection is off (\(how)) while \(Self.objects(garbage)) of cyclic garbage wait:"
                    + " garbage will keep growing until GC COLLECT runs. GC ENABLE turns it back on."
            ]
        case .uncollectableGarbage(let entries, let total, let heldObjects, let heldBytes):
            return [
                "Uncollectable garbage: gc.garbage holds \(Self.objects(total)) (\(Self.list(entries))"
                    + "\(total > entries.count ? ", ..." : "")), found in cycles with legacy finalizers;"
                    + " with what only they reach that is \(Self.objects(heldObjects)) (\(formatBytes(heldBytes)))"
                    + " kept alive. Break their cycles by hand, then GC GARBAGE CLEAR and GC COLLECT."
            ]
        case .snapshotGrowth(let old, let new, let biggest, let total):
            return [
                "Growth between tracemalloc snapshots \(old) and \(new): traced memory changed by"
                    + " \(formatSize(Double(total), sign: true)); the line that grew most is"
                    + " \(biggest.traceback.description) (\(formatSize(Double(biggest.sizeDiff), sign: true)),"
                    + " \(biggest.countDiff >= 0 ? "+" : "")\(biggest.countDiff) block\(abs(biggest.countDiff) == 1 ? "" : "s"), now"
                    + " \(formatSize(Double(biggest.size), sign: false))). If it keeps growing from snapshot to"
                    + " snapshot, what it allocates is kept somewhere: TRACEMALLOC GET_OBJECT_TRACEBACK and CHAIN"
                    + " tell what and who holds it."
            ]
        case .globalKeepsAlive(let name, let objects, let bytes, let heapBytes):
            let share = heapBytes > 0 ? ", \(bytes * 100 / heapBytes)% of the heap" : ""
            return [
                "Big global: \(name) alone keeps \(Self.objects(objects)) (\(formatBytes(bytes))\(share)) alive; no other"
                    + " variable reaches \(objects == 1 ? "it" : "them"). If only one function needs"
                    + " \(objects == 1 ? "it" : "them"), make \(name) a local of that function (SCOPE POP"
                    + " releases it); when \(objects == 1 ? "it is" : "they are") no longer needed, DEL \(name)"
                    + " frees \(objects == 1 ? "it" : "them")."
            ]
        }
    }

    static func objects(_ count: Int) -> String { count == 1 ? "1 object" : "\(count) objects" }

    static func list(_ objects: [ObjectSummary]) -> String {
        objects.map(\.description).joined(separator: ", ")
    }

}

/// An object named for a report: `list #17`.
public struct ObjectSummary: Sendable, Equatable, CustomStringConvertible {
    public let typeName: String
    public let id: ObjectID

    public init(typeName: String, id: ObjectID) {
        self.typeName = typeName
        self.id = id
    }

    public var description: String { "\(typeName) \(id)" }
}

/// A reference cycle (a strongly connected group of objects, or one object referencing itself): its
/// size, its types, and its first members.
public struct ReferenceCycle: Sendable, Equatable, CustomStringConvertible {
    public let size: Int
    /// Types and how many members have each, most numerous first.
    public let types: [TypeCount]
    /// The first few members, by id.
    public let members: [ObjectSummary]

    public var description: String {
        let types = types.map { "\($0.count) \($0.name)" }.joined(separator: ", ")
        let more = size > members.count ? ", ..." : ""
        return "\(MemoryFinding.objects(size)) (\(types)): \(MemoryFinding.list(members))\(more)"
    }
}

/// `DOCTOR`'s answer: the findings, and the report a person reads.
public struct MemoryReport: Sendable, Equatable {
    public var findings: [MemoryFinding]

    public init(findings: [MemoryFinding]) {
        self.findings = findings
    }

    /// Plain lines, in the manner of Redis's `MEMORY DOCTOR`.
    public var text: String {
        guard !findings.isEmpty else {
            return """
                Hi Sam, I can't find any memory issue in this heap: no cyclic garbage waiting for a \
                collection, nothing uncollectable in gc.garbage, no global keeping a large part of the heap \
                alive on its own. I can only account for what occurs on this base.

                """
        }
        var lines = ["Sam, I detected a few issues in this heap:", ""]
        for finding in findings {
            let paragraph = finding.lines
            lines.append(" * " + paragraph[0])
            lines += paragraph.dropFirst().map { " " + $0 }
            lines.append("")
        }
        lines.append("I'm here to keep you safe, Sam. I want to help you.")
        return lines.joined(separator: "\n") + "\n"
    }
}
