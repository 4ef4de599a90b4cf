import Foundation

/// Figures of a running process from /proc.
public enum ProcessFigures {
    /// Resident memory (`VmRSS`), or with `peak`, the high-water mark (`VmHWM`), in bytes.
    public static func residentBytes(of pid: Int32, peak: Bool = false) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        let key = peak ? "VmHWM:" : "VmRSS:"
        for line in text.split(separator: "\n") where line.hasPrefix(key) {
            let kilobytes =
                line.dropFirst(key.count).split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 0
            return kilobytes * 1024
        }
        return 0
    }

    /// Resets the process's `VmHWM` to its current resident size (`/proc/PID/clear_refs`, Linux 4.0+).
    public static func resetPeak(of pid: Int32) {
        try? "5".write(toFile: "/proc/\(pid)/clear_refs", atomically: false, encoding: .utf8)
    }

    /// CPU time used so far (user + system), in clock ticks (`/proc/PID/stat` fields 14 and 15).
    public static func cpuTicks(of pid: Int32) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the command name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return 0 }
        return user + system
    }
}
