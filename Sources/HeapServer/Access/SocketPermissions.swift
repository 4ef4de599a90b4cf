import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Who may open the socket heapd binds: its mode and group, set explicitly so that the umask heapd
/// was started with never decides (under `umask 000` a plain `bind()` makes it 0777: anyone connects).
///
/// Defaults: the group `heapd-clients` when it exists (as systemd's `heapd.socket` uses) with mode 0660,
/// else mode 0600 (heapd's own user, and root). `--socket-mode`/`--socket-group` or the configuration
/// file's `socket-mode`/`socket-group` choose others. A socket systemd passes keeps the unit's
/// `SocketMode=`/`SocketGroup=`: heapd never changes a socket it did not create.
///
/// No moment where it is wider: the socket file is created under umask 0177 (so 0600), then given its
/// group, then its final mode, and each step only widens it to what was asked.
public struct SocketPermissions: Sendable, Equatable {
    /// The group a socket is given.
    public enum Group: Sendable, Equatable, CustomStringConvertible {
        /// `heapd-clients` if that group exists, else none.
        case automatic
        /// Keep heapd's own group (mode 0600 unless one is set).
        case none
        case named(String)
        case id(UInt32)

        public var description: String {
            switch self {
            case .automatic: "automatic"
            case .none: "none"
            case .named(let name): name
            case .id(let gid): "\(gid)"
            }
        }

        /// `none`, a number (a gid) or a group name.
        public init(parsing text: String) {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.lowercased() == "none" {
                self = .none
            } else if let gid = UInt32(trimmed) {
                self = .id(gid)
            } else {
                self = .named(trimmed)
            }
        }
    }

    /// The group heapd looks for when none is configured.
    public static let defaultGroupName = "heapd-clients"

    /// Permission bits; nil: 0660 when the socket gets a group, else 0600.
    public var mode: UInt32?
    public var group: Group

    public init(mode: UInt32? = nil, group: Group = .automatic) {
        self.mode = mode
        self.group = group
    }

    /// Octal permission bits from `0` to `0777` (`660`, `0660`, `0o660`); nil otherwise.
    public static func parseMode(_ text: String) -> UInt32? {
        var digits = Substring(text.trimmingCharacters(in: .whitespaces))
        if digits.hasPrefix("0o") { digits = digits.dropFirst(2) }
        guard !digits.isEmpty, digits.count <= 4, let value = UInt32(digits, radix: 8), value <= 0o777 else {
            return nil
        }
        return value
    }

    /// The mode and gid to apply, or why not: a named group that does not exist is an error.
    func resolved() throws -> (mode: UInt32, gid: UInt32?) {
        let gid: UInt32?
        switch group {
        case .automatic: gid = SystemDatabase.group(named: Self.defaultGroupName)?.gid
        case .none: gid = nil
        case .id(let id): gid = id
        case .named(let name):
            guard let found = SystemDatabase.group(named: name)?.gid else {
                throw ServerStartError(description: "socket group '\(name)' does not exist", errnoValue: EINVAL)
            }
            gid = found
        }
        return (mode ?? (gid == nil ? 0o600 : 0o660), gid)
    }

    /// Creates the socket file at `path` and returns the bound descriptor, not yet listening, with what
    /// was applied. The file is created under umask 0177 (so 0600), then given its group, then its mode:
    /// no moment where it is wider than asked, and nobody connects before the mode is final, since
    /// `listen()` comes after (NIO's `withBoundSocket`).
    ///
    /// When the automatic group cannot be given (heapd neither root nor a member of it), the socket stays
    /// private to heapd's user: mode 0600 unless a mode was set.
    func bindSocket(at path: String) throws -> (descriptor: Int32, mode: UInt32, gid: UInt32?) {
        var (mode, gid) = try resolved()
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Self.failure("cannot create a socket for \(path)") }
        var address = SocketFile.socketAddress(path)
        // The umask is the process's, but no other thread creates files while heapd starts.
        let inherited = umask(Self.bindUmask)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        let bindError = errno
        umask(inherited)
        guard bound == 0 else {
            close(fd)
            errno = bindError
            throw Self.failure("cannot bind \(path)")
        }
        do {
            if let wanted = gid, lchown(path, UInt32.max, wanted) != 0 {
                guard group == .automatic else {
                    throw Self.failure(
                        "cannot give socket \(path) to group \(group) (gid \(wanted)); heapd must run as root or be a member of it"
                    )
                }
                gid = nil
                mode = self.mode ?? 0o600
            }
            guard chmod(path, mode_t(mode)) == 0 else {
                throw Self.failure("cannot set mode \(String(mode, radix: 8)) on socket \(path)")
            }
        } catch {
            close(fd)
            unlink(path)
            throw error
        }
        return (fd, mode, gid)
    }

    /// A start error with errno's text.
    private static func failure(_ message: String) -> ServerStartError {
        let error = errno
        return ServerStartError(description: "\(message): \(String(cString: strerror(error)))", errnoValue: error)
    }

    /// The umask to bind under: the file is created 0600 whatever umask heapd inherited.
    static let bindUmask: mode_t = 0o177
}
