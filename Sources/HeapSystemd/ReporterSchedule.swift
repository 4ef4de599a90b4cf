/// When the notify thread next has work, as a value type with no clock and no I/O of its own.
///
/// Two duties share the thread:
/// - the watchdog: a health check (and a ping if it passes) every ``watchdogPeriod``;
/// - the status line: recomputed every ``statusPeriod``, and soon after each collection — but a
///   `STATUS=` is sent only when the text changed, and never sooner than ``statusSpacing`` after
///   the previous one, so a busy collector cannot flood systemd.
///
/// Times are monotonic nanoseconds supplied by the caller.
public struct ReporterSchedule: Sendable, Equatable {
    /// What is due now.
    public struct Due: Sendable, Equatable {
        public var healthCheck = false
        public var status = false

        public init(healthCheck: Bool = false, status: Bool = false) {
            self.healthCheck = healthCheck
            self.status = status
        }
    }

    public let watchdogPeriod: UInt64?
    public let statusPeriod: UInt64
    public let statusSpacing: UInt64
    private(set) var nextHealthCheck: UInt64?
    private(set) var nextStatus: UInt64
    private var lastStatusSent: UInt64?

    public init(now: UInt64, watchdogPeriod: UInt64?, statusPeriod: UInt64, statusSpacing: UInt64) {
        self.watchdogPeriod = watchdogPeriod
        self.statusPeriod = statusPeriod
        self.statusSpacing = statusSpacing
        nextHealthCheck = watchdogPeriod.map { now + $0 }
        nextStatus = now + statusPeriod
    }

    /// The earliest time something is due.
    public var nextWake: UInt64 {
        min(nextStatus, nextHealthCheck ?? .max)
    }

    /// What is due at `now`; the due timers move to their next period.
    public mutating func due(at now: UInt64) -> Due {
        var due = Due()
        if let next = nextHealthCheck, let period = watchdogPeriod, now >= next {
            due.healthCheck = true
            // The next check is a period after this one, not after the missed slot: a late wake-up
            // must not trigger a burst of catch-up checks.
            nextHealthCheck = next + period > now ? next + period : now + period
        }
        if now >= nextStatus {
            due.status = true
            nextStatus = now + statusPeriod
        }
        return due
    }

    /// A collection finished: refresh the status as soon as the spacing allows.
    public mutating func collectionFinished(at now: UInt64) {
        let earliest = lastStatusSent.map { $0 + statusSpacing } ?? now
        nextStatus = min(nextStatus, max(now, earliest))
    }

    /// A `STATUS=` went out at `now`.
    public mutating func statusSent(at now: UInt64) {
        lastStatusSent = now
    }
}
