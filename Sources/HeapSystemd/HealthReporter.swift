import Foundation
import HeapCore
import HeapServer
import Logging

/// The thread (`heapd-notify`) that keeps systemd informed while heapd runs: a fresh `STATUS=` line
/// when the figures change, and `WATCHDOG=1` only while the ``HealthCheck`` passes.
///
/// A dedicated OS thread rather than a Swift task: a task would hold one of the two cooperative
/// threads, and a ping must not wait behind other work. heapd starts it only when a service manager
/// listens (``ServiceNotifier/isActive``), so without systemd it costs nothing.
///
/// When the check fails the pings stop — systemd then kills and restarts heapd — and the reason is
/// logged once (event `watchdog_unhealthy`) and shown in the status line. Should health return before
/// systemd acts, the pings resume and that is logged too.
public final class HealthReporter: Sendable {
    /// How often the status line is recomputed without a collection, and the least time between two
    /// `STATUS=` datagrams.
    public static let statusPeriod = 5.0
    public static let statusSpacing = 1.0

    private struct Shared {
        var schedule: ReporterSchedule
        var stop = false
        var wakeRequested = false
        var lastStatus = ""
        var unhealthyReason: String?
        var running = false
    }

    private let notifier: any ServiceNotifier
    private let watchdog: WatchdogSettings?
    private let statistics: @Sendable () -> ServerStatistics
    private let health: HealthCheck
    private let logger: Logger
    private let shared: MonotonicCondition<Shared>

    /// - Parameters:
    ///   - watchdog: systemd's watchdog, or nil for status lines only.
    ///   - statistics: the figures for the status line (``HeapServer/statistics()``).
    ///   - health: what must pass before each ping.
    public init(
        notifier: any ServiceNotifier, watchdog: WatchdogSettings?,
        statistics: @escaping @Sendable () -> ServerStatistics, health: HealthCheck, logger: Logger
    ) {
        self.notifier = notifier
        self.watchdog = watchdog
        self.statistics = statistics
        self.health = health
        self.logger = logger
        let schedule = ReporterSchedule(
            now: monotonicNanoseconds(), watchdogPeriod: watchdog.map { UInt64($0.pingInterval * 1e9) },
            statusPeriod: UInt64(Self.statusPeriod * 1e9), statusSpacing: UInt64(Self.statusSpacing * 1e9))
        shared = MonotonicCondition(Shared(schedule: schedule))
    }

    /// The status line as it is now (sent with `READY=1`, so `systemctl status` has one from the start).
    public func currentStatus() -> String {
        let figures = statistics()
        let reason = shared.withLock { $0.unhealthyReason }
        let line = reason.map { StatusLine.unhealthy($0, figures) } ?? StatusLine.format(figures)
        shared.withLock { shared in
            shared.lastStatus = line
            shared.schedule.statusSent(at: monotonicNanoseconds())
        }
        return line
    }

    /// Starts the thread; the first ping follows after half a watchdog interval.
    public func start() {
        let alreadyRunning = shared.withLock { shared -> Bool in
            defer { shared.running = true }
            return shared.running
        }
        guard !alreadyRunning else { return }
        let thread = Thread { [self] in
            nameCurrentThread("heapd-notify")
            run()
        }
        thread.start()
    }

    /// A collection finished: refresh the status line soon (the schedule spaces them out).
    public func collectionFinished() {
        shared.withLockAndBroadcast { shared in
            shared.schedule.collectionFinished(at: monotonicNanoseconds())
            shared.wakeRequested = true
        }
    }

    /// Stops the thread and waits for it; no datagram is sent after this returns.
    public func stop() {
        shared.withLockAndBroadcast { $0.stop = true }
        shared.wait(until: nil, for: { !$0.running }) { _ in }
    }

    // MARK: The thread

    private func run() {
        while true {
            let (due, stop) = shared.wait(
                until: shared.withLock { $0.schedule.nextWake },
                for: { $0.stop || $0.wakeRequested }
            ) { shared -> (ReporterSchedule.Due, Bool) in
                shared.wakeRequested = false
                return (shared.schedule.due(at: monotonicNanoseconds()), shared.stop)
            }
            if stop { break }
            var statusChanged = false
            if due.healthCheck { statusChanged = checkHealthAndPing() }
            if due.status || statusChanged { refreshStatus() }
        }
        shared.withLockAndBroadcast { $0.running = false }
    }

    /// Runs the health check; pings when it passes. Returns whether health changed (the status line
    /// then changes at once).
    private func checkHealthAndPing() -> Bool {
        let verdict = health.run()
        let previous = shared.withLock { $0.unhealthyReason }
        switch verdict {
        case .healthy:
            if shared.withLock({ $0.stop }) { return false }
            notifier.send(.watchdog)
            guard previous != nil else { return false }
            shared.withLock { $0.unhealthyReason = nil }
            logger.notice(
                "health check passes again; watchdog pings resumed",
                metadata: [ServerLogEvent.metadataKey: "\(ServiceLogEvent.watchdogHealthy.rawValue)"])
            return true
        case .unhealthy(let reason):
            shared.withLock { $0.unhealthyReason = reason }
            guard previous == nil else { return previous != reason }
            logger.error(
                "health check failed, watchdog pings stopped: \(reason)",
                metadata: [
                    ServerLogEvent.metadataKey: "\(ServiceLogEvent.watchdogUnhealthy.rawValue)", "reason": "\(reason)",
                    "watchdog_usec": "\(UInt64((watchdog?.interval ?? 0) * 1e6))",
                ])
            return true
        }
    }

    /// Sends `STATUS=` when the line changed.
    private func refreshStatus() {
        let figures = statistics()
        let line = shared.withLock { shared -> String? in
            let line = shared.unhealthyReason.map { StatusLine.unhealthy($0, figures) } ?? StatusLine.format(figures)
            guard line != shared.lastStatus, !shared.stop else { return nil }
            shared.lastStatus = line
            shared.schedule.statusSent(at: monotonicNanoseconds())
            return line
        }
        if let line { notifier.send(.status(line)) }
    }
}
