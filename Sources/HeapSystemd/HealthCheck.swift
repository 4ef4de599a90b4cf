import HeapCore
import HeapServer

/// The outcome of one health check.
public enum HealthVerdict: Sendable, Equatable {
    case healthy
    /// Not healthy, with the reason an operator reads in the log and in `systemctl status`.
    case unhealthy(String)
}

/// The check that must pass before each watchdog ping: a ping says "heapd makes progress", so it is
/// sent only when the event loops answer and the collector thread moves.
///
/// A ping from a timer alone would keep a wedged heapd alive forever; tying it to these two checks is
/// what lets systemd's `Restart=on-failure` recover a stalled server.
public struct HealthCheck: Sendable {
    private let body: @Sendable () -> HealthVerdict

    public init(_ body: @escaping @Sendable () -> HealthVerdict) {
        self.body = body
    }

    public func run() -> HealthVerdict { body() }

    /// Checks `server`: its collector beat recently and is not stuck in a collection longer than
    /// `settings.collectorBound`, and every event loop ran a no-op within `settings.eventLoopBound`.
    public static func server(_ server: HeapServer, settings: WatchdogSettings) -> HealthCheck {
        HealthCheck {
            var reasons: [String] = []
            let collector = server.collector
            let (sinceBeat, busySince) = collector.heartbeat
            let busyFor = busySince == 0 ? 0 : CycleCollector.now() &- busySince
            let collectorHealthy = collector.isHealthy(bound: settings.collectorBound)
            if !collectorHealthy {
                reasons.append(
                    collectorReason(
                        sinceBeatNanoseconds: sinceBeat, busyNanoseconds: busyFor, bound: settings.collectorBound))
            }
            let loops = server.eventLoopCount
            let silent = server.unresponsiveEventLoops(within: settings.eventLoopBound)
            if silent > 0 {
                let bound = StatusLine.duration(seconds: settings.eventLoopBound)
                var reason = "\(silent) of \(loops) event loops did not answer within \(bound)"
                // Loops usually block on the heap's gate behind a collection: say so, it is the cause.
                if collectorHealthy && busyFor > 0 {
                    let held = StatusLine.duration(nanoseconds: busyFor)
                    reason += " while the collector has held the world stopped for \(held)"
                }
                reasons.append(reason)
            }
            return reasons.isEmpty ? .healthy : .unhealthy(reasons.joined(separator: "; "))
        }
    }

    /// Words for a collector that failed ``CycleCollector/isHealthy(bound:)``.
    static func collectorReason(sinceBeatNanoseconds: UInt64, busyNanoseconds: UInt64, bound: Double) -> String {
        let limit = StatusLine.duration(seconds: bound)
        if busyNanoseconds > 0 {
            return
                "collector stuck in a collection for \(StatusLine.duration(nanoseconds: busyNanoseconds)) (bound \(limit))"
        }
        if Double(sinceBeatNanoseconds) / 1e9 > bound {
            return
                "collector thread silent for \(StatusLine.duration(nanoseconds: sinceBeatNanoseconds)) (bound \(limit))"
        }
        return "collector thread not running"
    }
}
