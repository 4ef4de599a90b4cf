import Foundation
import HeapCore
import NIOCore
import Synchronization

/// Who is on the other end of one connection and what they may do: read at accept, shared by the
/// session (which checks the role before each command) and the server (`CLIENT LIST`, `INFO clients`,
/// a policy reload), hence a Sendable reference rather than fields of the event-loop-confined session.
final class ClientInfo: Sendable {
    let id: Int
    /// nil when the kernel did not report them (not a Unix socket): the client gets the default role.
    let credentials: PeerCredentials?
    /// The socket the client connected to, as Redis shows a Unix client (`/run/heapd/heapd.sock:0`).
    let address: String
    /// Monotonic nanoseconds at accept.
    let connectedAt: UInt64
    /// The role, as a raw ``ClientRole``: read before every command (one relaxed load), replaced when
    /// a reload changes the policy.
    private let roleValue: Atomic<UInt8>
    /// Refused commands are logged at most once a second per client.
    private let denials = LockedValue(LogRateLimiter())
    /// What the client said about itself (`CLIENT SETNAME`, `HELLO … SETNAME`, `CLIENT SETINFO`):
    /// written by its own connection, read by any `CLIENT LIST`.
    private let labels = LockedValue(Labels())

    /// A client's name and library, as Redis keeps them; empty until the client sets them.
    struct Labels: Sendable, Equatable {
        var name = ""
        var libraryName = ""
        var libraryVersion = ""
    }

    init(id: Int, credentials: PeerCredentials?, address: String, role: ClientRole) {
        self.id = id
        self.credentials = credentials
        self.address = address
        connectedAt = CycleCollector.now()
        roleValue = Atomic(role.rawValue)
    }

    var role: ClientRole {
        get { ClientRole(rawValue: roleValue.load(ordering: .relaxed)) ?? .monitor }
        set { roleValue.store(newValue.rawValue, ordering: .relaxed) }
    }

    /// The role `policy` gives this client.
    func role(under policy: AccessPolicy) -> ClientRole {
        guard let credentials else { return policy.defaultRole }
        return policy.role(uid: credentials.uid, gid: credentials.gid)
    }

    /// The client's name and library.
    var clientLabels: Labels {
        get { labels.withLock { $0 } }
        set { labels.withLock { $0 = newValue } }
    }

    /// Whether `text` may be a client name or library label: printable ASCII without spaces, as Redis
    /// requires, so that a `CLIENT LIST` line stays one line of space-separated fields.
    static func isValidLabel(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }

    /// Whether a refusal at `now` should be logged, and how many were left out before it.
    func admitDenialLog(now: UInt64) -> Int? {
        denials.withLock { $0.admit(now: now) }
    }

    /// Redis's `CLIENT LIST` line: `id=7 addr=/run/heapd/heapd.sock:0 uid=1000 gid=1000 pid=4242 role=user age=12
    /// name=worker lib-name=redis-py lib-ver=8.1.0` (-1 for credentials the kernel did not report; the
    /// labels empty until the client sets them).
    func listLine(now: UInt64) -> String {
        let uid = credentials.map { "\($0.uid)" } ?? "-1"
        let gid = credentials.map { "\($0.gid)" } ?? "-1"
        let pid = credentials.map { "\($0.pid)" } ?? "-1"
        let age = (now &- connectedAt) / 1_000_000_000
        let labels = clientLabels
        return "id=\(id) addr=\(address) uid=\(uid) gid=\(gid) pid=\(pid) role=\(role) age=\(age)"
            + " name=\(labels.name) lib-name=\(labels.libraryName) lib-ver=\(labels.libraryVersion)"
    }

    /// The address of a connection's local end: the socket path with Redis's `:0` port.
    static func address(of channel: Channel?) -> String {
        guard let path = channel?.localAddress?.pathname, !path.isEmpty else { return "unix:0" }
        return path.replacingOccurrences(of: " ", with: "_") + ":0"
    }
}
