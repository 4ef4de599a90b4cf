/// `tracemalloc.Statistic`: the blocks of one group, printed as Python prints them.
public struct TraceStatistic: Sendable, Equatable, CustomStringConvertible {
    public var traceback: Traceback
    public var size: Int
    public var count: Int

    public init(traceback: Traceback, size: Int, count: Int) {
        self.traceback = traceback
        self.size = size
        self.count = count
    }

    /// Python's `_sort_key` order `(size, count, traceback)`; statistics are listed largest first.
    func sortsBefore(_ other: TraceStatistic) -> Bool {
        if size != other.size { return size < other.size }
        if count != other.count { return count < other.count }
        return traceback < other.traceback
    }

    /// `script.heap:12: size=1.2 MiB, count=1000, average=1.2 KiB`
    public var description: String {
        statisticLine(position: traceback.description, size: size, count: count)
    }
}

/// `tracemalloc.StatisticDiff`: a group's figures in a new snapshot and their change from an old one.
public struct TraceStatisticDiff: Sendable, Equatable, CustomStringConvertible {
    public var traceback: Traceback
    public var size: Int
    public var sizeDiff: Int
    public var count: Int
    public var countDiff: Int

    /// Python's `_sort_key`: `(abs(size_diff), size, abs(count_diff), count, traceback)`.
    func sortsBefore(_ other: TraceStatisticDiff) -> Bool {
        if abs(sizeDiff) != abs(other.sizeDiff) { return abs(sizeDiff) < abs(other.sizeDiff) }
        if size != other.size { return size < other.size }
        if abs(countDiff) != abs(other.countDiff) { return abs(countDiff) < abs(other.countDiff) }
        if count != other.count { return count < other.count }
        return traceback < other.traceback
    }

    /// `script.heap:12: size=1.2 MiB (+1.2 MiB), count=1000 (+1000), average=1.2 KiB`
    public var description: String {
        statisticDiffLine(
            position: traceback.description, size: size, sizeDiff: sizeDiff, count: count, countDiff: countDiff)
    }
}
