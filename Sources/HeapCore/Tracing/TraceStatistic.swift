#if canImport(Glibc)
    import Glibc
#endif

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
        var text = "\(traceback.description): size=\(formatSize(Double(size), sign: false)), count=\(count)"
        if count != 0 { text += ", average=\(formatSize(Double(size) / Double(count), sign: false))" }
        return text
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
        let countSign = countDiff >= 0 ? "+" : ""
        var text =
            "\(traceback.description): size=\(formatSize(Double(size), sign: false)) "
            + "(\(formatSize(Double(sizeDiff), sign: true))), count=\(count) (\(countSign)\(countDiff))"
        if count != 0 { text += ", average=\(formatSize(Double(size) / Double(count), sign: false))" }
        return text
    }
}

/// Python's `tracemalloc._format_size`: three significant digits with a binary unit.
public func formatSize(_ bytes: Double, sign: Bool) -> String {
    var size = bytes
    for unit in ["B", "KiB", "MiB", "GiB", "TiB"] {
        if abs(size) < 100 && unit != "B" {
            return "\(formatFixed(size, digits: 1, sign: sign)) \(unit)"
        }
        if abs(size) < 10 * 1024 || unit == "TiB" {
            return "\(formatFixed(size, digits: 0, sign: sign)) \(unit)"
        }
        size /= 1024
    }
    return ""
}

/// `"%.Nf"` / `"%+.Nf"` through C's formatter, which Python's `%` also uses, so halfway cases
/// round on the binary value exactly as Python's do.
func formatFixed(_ value: Double, digits: Int, sign: Bool) -> String {
    let format = "%" + (sign ? "+" : "") + ".\(digits)f"
    var buffer = [UInt8](repeating: 0, count: 64)
    let length = buffer.withUnsafeMutableBufferPointer { out in
        out.withMemoryRebound(to: CChar.self) { chars in
            withVaList([value]) { vsnprintf(chars.baseAddress, chars.count, format, $0) }
        }
    }
    return String(decoding: buffer.prefix(Int(max(0, min(length, 63)))), as: UTF8.self)
}
