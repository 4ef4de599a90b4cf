/// `tracemalloc.Snapshot`: the traces alive when it was taken, and what Python computes from them.
///
/// Grouping, sorting and comparison follow CPython's `Lib/tracemalloc.py` line for line (see
/// ``statistics(by:cumulative:)``), so the same traces give the same lines in the same order.
public struct TraceSnapshot: Sendable {
    /// One traced block: its size and the traceback of its allocation.
    public struct Trace: Sendable, Equatable {
        public var size: Int
        public var traceback: Traceback

        public init(size: Int, traceback: Traceback) {
            self.size = size
            self.traceback = traceback
        }
    }

    /// How statistics group traces (Python's `key_type`).
    public enum Key: String, Sendable, CaseIterable {
        case filename, lineno, traceback
    }

    public var traces: [Trace]
    /// `Snapshot.traceback_limit`: the frames per traceback when it was taken.
    public var tracebackLimit: Int

    public init(traces: [Trace], tracebackLimit: Int) {
        self.traces = traces
        self.tracebackLimit = tracebackLimit
    }

    /// Total bytes of the traced blocks.
    /// Total bytes of the traced blocks (saturating: a loaded file may claim absurd sizes).
    public var size: Int { traces.reduce(0) { $0.saturatingAdd($1.size) } }

    /// `Snapshot.filter_traces(filters)`: a trace stays when it matches any inclusive filter (if
    /// there are any) and every exclusive one.
    public func filtered(by filters: [TraceFilter]) -> TraceSnapshot {
        let include = filters.filter(\.inclusive)
        let exclude = filters.filter { !$0.inclusive }
        let kept = traces.filter { trace in
            if !include.isEmpty && !include.contains(where: { $0.matches(trace.traceback) }) { return false }
            if exclude.contains(where: { !$0.matches(trace.traceback) }) { return false }
            return true
        }
        return TraceSnapshot(traces: kept, tracebackLimit: tracebackLimit)
    }

    /// Python's `_group_by`: size and count per key, in first-seen order.
    func grouped(by key: Key, cumulative: Bool) throws(HeapError) -> [(Traceback, size: Int, count: Int)] {
        if cumulative && key == .traceback {
            throw HeapError(.value, "cumulative mode cannot by used with key type 'traceback'")
        }
        var order: [Traceback] = []
        var totals: [Traceback: (size: Int, count: Int)] = [:]
        func add(_ traceback: Traceback, _ size: Int) {
            if let old = totals[traceback] {
                totals[traceback] = (old.size.saturatingAdd(size), old.count + 1)
            } else {
                totals[traceback] = (size, 1)
                order.append(traceback)
            }
        }
        func keyed(_ frame: TraceFrame) -> Traceback {
            key == .lineno
                ? Traceback(frames: [frame]) : Traceback(frames: [TraceFrame(filename: frame.filename, lineno: 0)])
        }
        for trace in traces {
            if cumulative {
                // Every frame of the traceback counts the block once (a recursive frame twice, as in CPython).
                for frame in trace.traceback.frames { add(keyed(frame), trace.size) }
            } else if key == .traceback {
                add(trace.traceback, trace.size)
            } else {
                add(keyed(trace.traceback.frames[0]), trace.size)
            }
        }
        return order.map { ($0, totals[$0]!.size, totals[$0]!.count) }
    }

    /// `Snapshot.statistics(key_type, cumulative)`: sorted by size, count, traceback, descending.
    public func statistics(by key: Key, cumulative: Bool = false) throws(HeapError) -> [TraceStatistic] {
        let stats = try grouped(by: key, cumulative: cumulative).map {
            TraceStatistic(traceback: $0.0, size: $0.size, count: $0.count)
        }
        return stats.sorted { $1.sortsBefore($0) }
    }

    /// `Snapshot.compare_to(old, key_type, cumulative)`: new and changed groups first in the order
    /// Python sorts them (by |size_diff|, size, |count_diff|, count, traceback, descending).
    public func compared(to old: TraceSnapshot, by key: Key, cumulative: Bool = false) throws(HeapError)
        -> [TraceStatisticDiff]
    {
        let newGroups = try grouped(by: key, cumulative: cumulative)
        var oldGroups: [Traceback: (size: Int, count: Int)] = [:]
        var oldOrder: [Traceback] = []
        for (traceback, size, count) in try old.grouped(by: key, cumulative: cumulative) {
            oldGroups[traceback] = (size, count)
            oldOrder.append(traceback)
        }
        var diffs: [TraceStatisticDiff] = []
        for (traceback, size, count) in newGroups {
            let previous = oldGroups.removeValue(forKey: traceback) ?? (0, 0)
            diffs.append(
                TraceStatisticDiff(
                    traceback: traceback, size: size, sizeDiff: size - previous.size, count: count,
                    countDiff: count - previous.count))
        }
        for traceback in oldOrder {
            guard let gone = oldGroups[traceback] else { continue }
            diffs.append(
                TraceStatisticDiff(
                    traceback: traceback, size: 0, sizeDiff: -gone.size, count: 0, countDiff: -gone.count))
        }
        return diffs.sorted { $1.sortsBefore($0) }
    }

    /// The finding `DOCTOR` reports when traced memory grew from `old` to this snapshot: the line that
    /// grew most, or nil when the total did not grow.
    public func growthFinding(since old: TraceSnapshot, numbers: (old: Int, new: Int)) -> MemoryFinding? {
        guard size > old.size, let diffs = try? compared(to: old, by: .lineno),
            let biggest = diffs.first(where: { $0.sizeDiff > 0 })
        else { return nil }
        return .snapshotGrowth(old: numbers.old, new: numbers.new, biggest: biggest, total: size - old.size)
    }
}

extension Int {
    /// `self + other`, held at `Int.max` instead of trapping: sums of sizes read from a file must not
    /// take the daemon down.
    func saturatingAdd(_ other: Int) -> Int {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}
