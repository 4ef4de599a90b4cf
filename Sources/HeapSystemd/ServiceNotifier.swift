import CSystemd
import Foundation

/// Where heapd's ``NotifyMessage``s go: systemd's notification socket, or a test's recorder.
public protocol ServiceNotifier: Sendable {
    /// Whether a service manager listens; when false, ``send(_:)`` does nothing and heapd starts no
    /// status or watchdog thread at all.
    var isActive: Bool { get }

    /// Sends `message` as one datagram; never blocks for long (the socket is a datagram socket).
    func send(_ message: NotifyMessage)
}

/// `sd_notify(3)` to `$NOTIFY_SOCKET`: silent, and free, when the variable is unset.
public struct SystemdNotifier: ServiceNotifier {
    public let isActive: Bool

    /// Reads `NOTIFY_SOCKET` once; heapd keeps it set (systemd may want several messages).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        isActive = !(environment["NOTIFY_SOCKET"] ?? "").isEmpty
    }

    public func send(_ message: NotifyMessage) {
        guard isActive else { return }
        // Failures (systemd gone, socket full) are not fatal to serving clients and have no one to
        // report to; systemd notices missing READY or WATCHDOG by itself.
        _ = sd_notify(0, message.description)
    }
}
