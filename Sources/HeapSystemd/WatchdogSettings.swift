import CSystemd

/// The watchdog systemd asked for (`WatchdogSec=` → `$WATCHDOG_USEC`), and the pace and bounds heapd
/// derives from it.
///
/// systemd kills the service when no `WATCHDOG=1` arrives within ``interval``. heapd checks its health
/// and pings every half interval (the margin sd_watchdog_enabled(3) recommends). Each check waits at
/// most ``eventLoopBound`` for the event loops, so a slow check still pings in time, and calls the
/// collector stuck when it sat in (or before) one collection longer than ``collectorBound`` — long
/// enough for a legitimate full collection of a large heap, short enough that systemd restarts a
/// stalled heapd within about one and a half intervals.
public struct WatchdogSettings: Sendable, Equatable {
    /// systemd's timeout, in seconds.
    public let interval: Double

    public init(interval: Double) {
        self.interval = interval
    }

    /// Seconds between health checks (and pings while healthy).
    public var pingInterval: Double { interval / 2 }

    /// Longest wait, in seconds, for every event loop to run a no-op.
    public var eventLoopBound: Double { max(0.05, interval / 4) }

    /// Longest time, in seconds, the collector may be busy in one collection or silent.
    public var collectorBound: Double { max(1.0, interval / 2) }

    /// What `sd_watchdog_enabled(3)` reports: nil when `$WATCHDOG_USEC` is unset, or when
    /// `$WATCHDOG_PID` names another process.
    public static func fromSystemd() -> WatchdogSettings? {
        var microseconds: UInt64 = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 else { return nil }
        return WatchdogSettings(interval: Double(microseconds) / 1e6)
    }
}
