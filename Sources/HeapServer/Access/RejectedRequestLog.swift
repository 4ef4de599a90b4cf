import HeapCore
import HeapProtocol
import Logging

/// Requests heapd refused before running them — malformed frames (`PROTO`, framing `LIMIT`s, bad
/// quoting), unknown commands, wrong arity, commands the client's role does not allow, commands sent
/// while subscribed — logged so that junk traffic cannot flood the journal: each one at debug level
/// only, and every ``summaryInterval`` one info line that counts them by code, if there were any:
///
///     1204 requests rejected in the last 10 s: UNKNOWN 1200, DENIED 3, PROTO 1
///
/// (Each used to cost a 120-byte info line: a client sending garbage wrote the journal full.)
/// A refused command is also logged at notice level with the client's credentials, at most once a
/// second per client (``ClientInfo/admitDenialLog(now:)``), because an operator wants to know who tried.
final class RejectedRequestLog: Sendable {
    /// How often the summary is written (when there is something to count).
    static let summaryInterval: Int64 = 10

    private let tally = LockedValue(RejectionTally())
    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    /// Counts one rejected request; logs it at debug level (the message is built only when enabled).
    func note(code: ErrorCode, clientID: Int?, _ detail: @autoclosure () -> String) {
        tally.withLock { $0.add(code.rawValue) }
        logger.debug(
            "request rejected: \(detail())",
            metadata: ["code": "\(code)", "client_id": "\(clientID.map(String.init) ?? "-")"])
    }

    /// Writes the summary of what was counted since the last one, if anything; called every
    /// ``summaryInterval`` seconds and at stop.
    func flush() {
        guard let summary = tally.withLock({ $0.drain() }) else { return }
        var metadata: Logger.Metadata = [
            ServerLogEvent.metadataKey: "\(ServerLogEvent.requestsRejected.metadataValue)",
            "rejected": "\(summary.total)", "by_code": "\(summary.byCode)",
        ]
        metadata["interval_s"] = "\(Self.summaryInterval)"
        logger.info(
            "\(summary.total) requests rejected in the last \(Self.summaryInterval) s: \(summary.byCode)",
            metadata: metadata)
    }
}

/// Rejected requests counted by error code between two summaries: a pure value.
struct RejectionTally: Sendable {
    private var counts: [String: Int] = [:]

    mutating func add(_ code: String) { counts[code, default: 0] += 1 }

    /// The counts so far (largest first, ties by code) and a fresh start; nil when nothing was counted.
    mutating func drain() -> (total: Int, byCode: String)? {
        guard !counts.isEmpty else { return nil }
        defer { counts.removeAll(keepingCapacity: true) }
        let sorted = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        return (sorted.reduce(0) { $0 + $1.value }, sorted.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
    }
}
