/// `str(tracemalloc.Statistic)`: `script.heap:12: size=1.2 MiB, count=1000, average=1.2 KiB`, for the
/// group at `position` (its traceback's oldest frame).
public func statisticLine(position: String, size: Int, count: Int) -> String {
    var text = "\(position): size=\(formatSize(Double(size), sign: false)), count=\(count)"
    if count != 0 { text += ", average=\(formatSize(Double(size) / Double(count), sign: false))" }
    return text
}

/// `str(tracemalloc.StatisticDiff)`:
/// `script.heap:12: size=1.2 MiB (+1.2 MiB), count=1000 (+1000), average=1.2 KiB`.
public func statisticDiffLine(position: String, size: Int, sizeDiff: Int, count: Int, countDiff: Int) -> String {
    let countSign = countDiff >= 0 ? "+" : ""
    var text =
        "\(position): size=\(formatSize(Double(size), sign: false)) "
        + "(\(formatSize(Double(sizeDiff), sign: true))), count=\(count) (\(countSign)\(countDiff))"
    if count != 0 { text += ", average=\(formatSize(Double(size) / Double(count), sign: false))" }
    return text
}
