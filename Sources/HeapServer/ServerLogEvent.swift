/// The kinds of log entries an operator may want to find again, named by the `event` metadata key.
///
/// A log backend can key on these (heapd's journald handler gives each kind a fixed `MESSAGE_ID`, listed
/// in `systemd/heapd.catalog`), so the names are a stable contract: add cases, never rename one.
public enum ServerLogEvent: String, CaseIterable, Sendable {
    case daemonStarted = "daemon_started"
    case daemonStopped = "daemon_stopped"
    case clientConnected = "client_connected"
    case clientGone = "client_gone"
    case collectionFinished = "collection_finished"
    case limitHit = "limit_hit"
    /// A command the client's role does not allow (rate-limited per client).
    case commandDenied = "command_denied"
    /// The periodic count of requests refused before they ran (``RejectedRequestLog``).
    case requestsRejected = "requests_rejected"

    /// The metadata key that carries the event's name.
    public static let metadataKey = "event"

    /// The metadata value for this event.
    public var metadataValue: String { rawValue }
}
