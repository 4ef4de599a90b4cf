#if canImport(Glibc)
    import Glibc
#endif

/// Turns the principals a policy names (`uid:1000`, `user:alice`, `gid:990`, `group:heapd-admins`) into
/// numbers, once, when the policy is loaded: the kernel reports numbers at each connect, and looking
/// names up there would put the user database (NSS, maybe a network service) on the accept path.
///
/// A group also brings its member list, so a rule on a group matches users who are in it as a
/// supplementary group. `SO_PEERCRED` reports only a client's primary gid, and NIO's socket options
/// cannot read the variable-length `SO_PEERGROUPS`; membership changes take effect at the next reload.
public struct PrincipalDirectory: Sendable {
    /// uid of a user name.
    public var userID: @Sendable (String) -> UInt32?
    /// gid of a group name.
    public var groupID: @Sendable (String) -> UInt32?
    /// uids of the users a group's entry lists as members.
    public var members: @Sendable (UInt32) -> [UInt32]

    public init(
        userID: @escaping @Sendable (String) -> UInt32?, groupID: @escaping @Sendable (String) -> UInt32?,
        members: @escaping @Sendable (UInt32) -> [UInt32]
    ) {
        self.userID = userID
        self.groupID = groupID
        self.members = members
    }

    /// One principal: `uid:N`, `gid:N`, `user:NAME` or `group:NAME`.
    public func principal(_ text: String) throws(PrincipalError) -> AccessPolicy.Principal {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[1].isEmpty else { throw .malformed(text) }
        let (kind, value) = (parts[0].lowercased(), parts[1])
        switch kind {
        case "uid":
            guard let uid = UInt32(value) else { throw .malformed(text) }
            return .uid(uid)
        case "gid":
            guard let gid = UInt32(value) else { throw .malformed(text) }
            return .gid(gid, members: members(gid))
        case "user":
            guard let uid = userID(value) else { throw .unknown(text) }
            return .uid(uid)
        case "group":
            guard let gid = groupID(value) else { throw .unknown(text) }
            return .gid(gid, members: members(gid))
        default:
            throw .malformed(text)
        }
    }

    /// The machine's user and group database (`/etc/passwd`, `/etc/group`, or whatever NSS is set to).
    public static let system = PrincipalDirectory(
        userID: { name in SystemDatabase.user(named: name) },
        groupID: { name in SystemDatabase.group(named: name)?.gid },
        members: { gid in
            (SystemDatabase.group(id: gid)?.members ?? []).compactMap { SystemDatabase.user(named: $0) }
        })
}

/// Why a principal could not be read.
public enum PrincipalError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(String)
    case unknown(String)

    public var description: String {
        switch self {
        case .malformed(let text): "'\(text)' is not uid:N, gid:N, user:NAME or group:NAME"
        case .unknown(let text): "'\(text)' names no such user or group"
        }
    }
}

/// getpwnam_r and getgrnam_r/getgrgid_r with a buffer that grows on ERANGE.
enum SystemDatabase {
    static func user(named name: String) -> UInt32? {
        var entry = passwd()
        return withBuffer { buffer, size, result -> Int32 in
            var found: UnsafeMutablePointer<passwd>?
            let status = getpwnam_r(name, &entry, buffer, size, &found)
            if status == 0, found != nil { result = entry.pw_uid }
            return status
        }
    }

    static func group(named name: String) -> (gid: UInt32, members: [String])? {
        var entry = Glibc.group()
        return withBuffer { buffer, size, result -> Int32 in
            var found: UnsafeMutablePointer<Glibc.group>?
            let status = getgrnam_r(name, &entry, buffer, size, &found)
            if status == 0, found != nil { result = (entry.gr_gid, memberNames(entry)) }
            return status
        }
    }

    static func group(id: UInt32) -> (name: String, members: [String])? {
        var entry = Glibc.group()
        return withBuffer { buffer, size, result -> Int32 in
            var found: UnsafeMutablePointer<Glibc.group>?
            let status = getgrgid_r(id, &entry, buffer, size, &found)
            if status == 0, found != nil { result = (String(cString: entry.gr_name), memberNames(entry)) }
            return status
        }
    }

    private static func memberNames(_ entry: Glibc.group) -> [String] {
        var names: [String] = []
        guard var cursor = entry.gr_mem else { return names }
        while let name = cursor.pointee {
            names.append(String(cString: name))
            cursor += 1
        }
        return names
    }

    /// Calls `body` with a scratch buffer, doubling it (up to 1 MiB) while the call says ERANGE.
    private static func withBuffer<R>(
        _ body: (UnsafeMutablePointer<CChar>, Int, inout R?) -> Int32
    ) -> R? {
        var size = 16 * 1024
        while size <= 1 << 20 {
            var result: R?
            var buffer = [CChar](repeating: 0, count: size)
            let code = buffer.withUnsafeMutableBufferPointer { body($0.baseAddress!, size, &result) }
            if code == ERANGE {
                size *= 2
                continue
            }
            return result
        }
        return nil
    }
}
