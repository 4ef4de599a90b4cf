import HeapCore

/// `DOCTOR`'s report in plain language, in the manner of Redis's `MEMORY DOCTOR`: the core finds
/// (``MemoryFinding``), the server words. Each finding is one paragraph.
extension MemoryReport {
    /// Plain lines, in the manner of Redis's `MEMORY DOCTOR`.
    var text: String {
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

extension MemoryFinding {
    /// The finding as a paragraph: a first line, then indented detail lines.
    var lines: [String] {
        switch self {
        case .cyclicGarbage(let objects, let bytes, let cycles, let cycleCount):
            var lines = [
                "Cyclic garbage: \(Self.objects(objects)) (\(formatBytes(bytes))) are alive but unreachable from"
                    + " any variable, global or gc.garbage. Reference counting cannot free them; the next"
                    + " collection of their generation will (GC COLLECT frees them now).",
                "  \(cycleCount == 1 ? "1 reference cycle holds" : "\(cycleCount) reference cycles hold") them:",
            ]
            lines += cycles.map { "  - \($0.text)" }
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
        objects.map(\.text).joined(separator: ", ")
    }
}

extension ObjectSummary {
    /// `list #17`.
    var text: String { "\(typeName) \(id)" }
}

extension ReferenceCycle {
    var text: String {
        let types = types.map { "\($0.count) \($0.name)" }.joined(separator: ", ")
        let more = size > members.count ? ", ..." : ""
        return "\(MemoryFinding.objects(size)) (\(types)): \(MemoryFinding.list(members))\(more)"
    }
}
