/// One `sd_notify(3)` datagram: newline-separated `VARIABLE=value` assignments, sent as a unit.
///
/// A value type with no I/O, so what heapd tells systemd can be built and checked in tests; the
/// ``ServiceNotifier`` sends it. Combine messages with `+` to send them in one datagram (systemd
/// applies a datagram's assignments together, e.g. `READY=1` with the first `STATUS=`).
public struct NotifyMessage: Sendable, Equatable, CustomStringConvertible {
    /// One `VARIABLE=value` line.
    public struct Assignment: Sendable, Equatable {
        public let variable: String
        public let value: String
    }

    public private(set) var assignments: [Assignment]

    public init(_ assignments: [Assignment] = []) {
        self.assignments = assignments
    }

    private init(_ variable: String, _ value: String) {
        assignments = [Assignment(variable: variable, value: value)]
    }

    /// `READY=1` with `MAINPID=`: start-up (or a reload) is complete and the socket accepts clients.
    public static func ready(mainPID: Int32) -> Self {
        Self("READY", "1") + Self("MAINPID", "\(mainPID)")
    }

    /// `RELOADING=1` with `MONOTONIC_USEC=` (required by systemd ≥ 253, harmless before); must be
    /// followed by ``ready(mainPID:)`` when the reload is done.
    public static func reloading(monotonicMicroseconds: UInt64) -> Self {
        Self("RELOADING", "1") + Self("MONOTONIC_USEC", "\(monotonicMicroseconds)")
    }

    /// `STOPPING=1`: shutdown has begun.
    public static let stopping = Self("STOPPING", "1")

    /// `WATCHDOG=1`: the health check passed; systemd restarts the watchdog timer.
    public static let watchdog = Self("WATCHDOG", "1")

    /// `ERRNO=`: why start-up failed, sent before exiting non-zero.
    public static func errno(_ value: Int32) -> Self { Self("ERRNO", "\(value)") }

    /// `STATUS=`: the one line `systemctl status` shows. Line breaks become spaces (a datagram line
    /// cannot hold them) and the text is cut at ``maximumStatusLength`` bytes.
    public static func status(_ text: String) -> Self {
        var line = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        if line.utf8.count > maximumStatusLength {
            line = String(decoding: line.utf8.prefix(maximumStatusLength), as: UTF8.self)
        }
        return Self("STATUS", line)
    }

    /// Longest `STATUS=` text sent; a status is for a glance, and `systemctl status` truncates anyway.
    public static let maximumStatusLength = 200

    public static func + (lhs: Self, rhs: Self) -> Self {
        Self(lhs.assignments + rhs.assignments)
    }

    /// The datagram's text.
    public var description: String {
        assignments.map { "\($0.variable)=\($0.value)" }.joined(separator: "\n")
    }

    /// The value of `variable`, if the message assigns it.
    public subscript(variable: String) -> String? {
        assignments.last { $0.variable == variable }?.value
    }
}
