import HeapFormatting
import HeapServer

/// The `STATUS=` text `systemctl status` shows: heapd's headline figures on one short line, e.g.
/// `312 objects, 48.2 KiB, 3 clients; collections 41/3/1; pause last 120 us, worst 2.3 ms`.
///
/// Pure formatting, so the line is tested without a server; units follow systemd's own spelling
/// (`us`, `ms`, `s`; binary byte prefixes).
public enum StatusLine {
    public static func format(_ statistics: ServerStatistics) -> String {
        let objects = statistics.objects == 1 ? "1 object" : "\(statistics.objects) objects"
        let clients = statistics.clients == 1 ? "1 client" : "\(statistics.clients) clients"
        let collections = statistics.collectionsPerGeneration.map(String.init).joined(separator: "/")
        var line = "\(objects), \(bytes(statistics.bytesInUse)), \(clients); collections \(collections)"
        if let last = statistics.lastPauseNanoseconds {
            line +=
                "; pause last \(duration(nanoseconds: last)), worst \(duration(nanoseconds: statistics.worstPauseNanoseconds))"
        }
        return line
    }

    /// The line shown while a health check fails: the reason first, then the figures.
    public static func unhealthy(_ reason: String, _ statistics: ServerStatistics) -> String {
        "UNHEALTHY: \(reason); \(format(statistics))"
    }

    /// `512 B`, `48.2 KiB`, `3.0 GiB`: the form every report uses (``formatBytes(_:)``).
    public static func bytes(_ count: Int) -> String { formatBytes(count) }

    /// `850 us`, `2.3 ms`, `1.5 s`: three significant figures at most.
    public static func duration(nanoseconds: UInt64) -> String {
        if nanoseconds < 1_000_000 { return "\(nanoseconds / 1_000) us" }
        if nanoseconds < 1_000_000_000 { return "\(oneDecimal(Double(nanoseconds) / 1e6)) ms" }
        return "\(oneDecimal(Double(nanoseconds) / 1e9)) s"
    }

    public static func duration(seconds: Double) -> String {
        duration(nanoseconds: UInt64(max(0, seconds) * 1e9))
    }

    private static func oneDecimal(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}
