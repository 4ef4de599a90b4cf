/// What a connected client may do, from least to most: a `monitor` reads, a `user` works in its own
/// session and the shared namespace, an `admin` may also change the daemon's behaviour for everyone.
///
/// The roles are ordered, each including the one below it, so a command needs one role and a client
/// may run it when its own is at least that (``CommandRoles`` classifies every command; protocol.md
/// §7 "Roles" lists them). A linear order rather than sets of permissions keeps the policy a reader can
/// check at a glance, as Redis's `+@read`/`+@write`/`+@admin` categories do for its common ACLs.
public enum ClientRole: UInt8, Sendable, CaseIterable, Comparable, CustomStringConvertible {
    /// INFO, statistics, the views and read-only introspection: changes nothing, not even its own
    /// variables (a metrics collector, an on-call engineer's `heapctl top`).
    case monitor = 0
    /// Its own session and the shared namespace (`g.name`): creates, binds, mutates and deletes
    /// objects, runs collections; the collector's and tracemalloc's settings are read-only to it.
    case user = 1
    /// Everything: the collector's switches and thresholds, tracemalloc's state and its files, the
    /// commands that stall or test the daemon.
    case admin = 2

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        switch self {
        case .monitor: "monitor"
        case .user: "user"
        case .admin: "admin"
        }
    }

    /// The role named `text` (case-insensitive), or nil.
    public init?(name text: String) {
        guard let role = Self.allCases.first(where: { $0.description == text.lowercased() }) else { return nil }
        self = role
    }
}
