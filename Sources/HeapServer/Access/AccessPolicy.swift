/// Which role a client gets, from the credentials the kernel reports for its connection.
///
/// The order, first match wins:
///
/// 1. a rule naming the client's **uid** (`monitor = uid:0`, `admin = user:alice`);
/// 2. **root and heapd's own user** are `admin` (so an operator who sets no policy keeps every
///    power, and heapd's owner cannot lock itself out by a group rule);
/// 3. rules naming a **group** the client is in: its primary gid as `SO_PEERCRED` reports it, or a
///    group whose member list (the group database, read when the policy is loaded) names its user.
///    Of several matching groups, the most privileged role wins, as group memberships grant;
/// 4. the **default role** (`default-role`, `user` unless set).
///
/// Why uid rules come before the built-in admins: the only way to demote root is to say so about root
/// itself, never by accident through a group (the tests use it to run as `monitor` while root).
///
/// A pure value: names were resolved to numbers before (``PrincipalDirectory``), so it does no I/O
/// and evaluating it costs a few dictionary lookups at each connect.
public struct AccessPolicy: Sendable, Equatable {
    /// The role of a client no rule names.
    public var defaultRole: ClientRole
    /// Roles by uid, from `uid:` and `user:` entries.
    public private(set) var uidRoles: [UInt32: ClientRole] = [:]
    /// Roles by gid, from `gid:` and `group:` entries.
    public private(set) var gidRoles: [UInt32: ClientRole] = [:]
    /// Roles by uid for the listed members of those groups (the most privileged when several).
    public private(set) var memberRoles: [UInt32: ClientRole] = [:]
    /// Admins unless a uid rule names them: root and the uid heapd runs as.
    public let builtInAdmins: Set<UInt32>

    /// No rules: root and `ownUID` are admins, everyone else gets `defaultRole`.
    public init(ownUID: UInt32, defaultRole: ClientRole = .user) {
        self.defaultRole = defaultRole
        builtInAdmins = [0, ownUID]
    }

    /// A principal named in a rule, resolved to numbers.
    public enum Principal: Sendable, Equatable, CustomStringConvertible {
        case uid(UInt32)
        /// A group, with the uids its entry in the group database lists as members.
        case gid(UInt32, members: [UInt32])

        public var description: String {
            switch self {
            case .uid(let uid): "uid:\(uid)"
            case .gid(let gid, _): "gid:\(gid)"
            }
        }
    }

    /// Gives `principal` the role `role`; naming one uid or gid for two different roles is an error
    /// (which one was meant cannot be guessed), naming it twice for the same role is not.
    public mutating func assign(_ principal: Principal, to role: ClientRole) throws(AccessPolicyError) {
        switch principal {
        case .uid(let uid):
            if let other = uidRoles[uid], other != role { throw .conflict(principal, other, role) }
            uidRoles[uid] = role
        case .gid(let gid, let members):
            if let other = gidRoles[gid], other != role { throw .conflict(principal, other, role) }
            gidRoles[gid] = role
            for uid in members { memberRoles[uid] = max(memberRoles[uid] ?? role, role) }
        }
    }

    /// The role of a client whose connection reports `uid` and `gid`.
    public func role(uid: UInt32, gid: UInt32) -> ClientRole {
        if let role = uidRoles[uid] { return role }
        if builtInAdmins.contains(uid) { return .admin }
        switch (gidRoles[gid], memberRoles[uid]) {
        case (let byGID?, let byMembership?): return max(byGID, byMembership)
        case (let byGID?, nil): return byGID
        case (nil, let byMembership?): return byMembership
        case (nil, nil): return defaultRole
        }
    }

    /// How many principals the rules name (for `INFO clients`).
    public var ruleCount: Int { uidRoles.count + gidRoles.count }
}

/// Why a policy could not be built.
public enum AccessPolicyError: Error, Sendable, Equatable, CustomStringConvertible {
    case conflict(AccessPolicy.Principal, ClientRole, ClientRole)

    public var description: String {
        switch self {
        case .conflict(let principal, let first, let second):
            "\(principal) is given two roles, \(first) and \(second)"
        }
    }
}
