import Foundation
import HeapServer
import Logging

/// heapd's configuration file (`--config`): what it reads at start, and re-reads on SIGHUP
/// (`systemctl reload heapd`).
///
///     # /etc/heapd/heapd.conf
///     log-level = debug            # trace, debug, info, notice, warning, error, critical
///     socket-mode = 0660           # the socket heapd binds (not one systemd passes)
///     socket-group = heapd-clients # a name, a gid, or none
///     default-role = user          # admin, user or monitor: clients no rule names
///     admin = user:alice, group:heapd-admins
///     monitor = user:prometheus uid:990
///     max-reply = 16M              # a limit (``LimitSetting``): fixed at start; a --max-reply flag wins
///
/// The format: one `key = value` a line, `#` starts a comment, blank lines ignored. A missing file is
/// an empty one (nothing overridden). A malformed file fails start-up; on reload it is reported and
/// the running settings stay.
///
/// What a reload changes: the log level and the access policy (every connected client is judged again).
/// The socket's mode and group apply when heapd binds its socket, at start; the `--socket-mode` and
/// `--socket-group` flags win over the file. The policy's rules (`admin`, `user`, `monitor`, each a list
/// of `uid:N`, `gid:N`, `user:NAME`, `group:NAME` separated by spaces or commas, repeatable) are read
/// by ``AccessPolicy``'s order; names are looked up when the file is read.
public struct ConfigurationSettings: Sendable, Equatable {
    /// The log level; nil leaves the `--log-level` value.
    public var logLevel: Logger.Level?
    /// `socket-mode`; nil: the flag's, or the default.
    public var socketMode: UInt32?
    /// `socket-group`; nil: the flag's, or the default.
    public var socketGroup: SocketPermissions.Group?
    /// The roles; with no policy keys, root and heapd's own user are admins and everyone else a user.
    public var accessPolicy: AccessPolicy
    /// Limits (``LimitSetting``: `max-reply = 16M`, `command-time-limit = 2000`, …). Read at start only,
    /// where a flag given on the command line wins; on reload they are checked but not applied.
    public var limits: [LimitSetting: Int]

    public init(
        logLevel: Logger.Level? = nil, socketMode: UInt32? = nil, socketGroup: SocketPermissions.Group? = nil,
        accessPolicy: AccessPolicy = AccessPolicy(ownUID: geteuid()), limits: [LimitSetting: Int] = [:]
    ) {
        self.logLevel = logLevel
        self.socketMode = socketMode
        self.socketGroup = socketGroup
        self.accessPolicy = accessPolicy
        self.limits = limits
    }
}

/// Why a configuration file was rejected; the message names the file and line.
public struct ConfigurationFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
}

public enum ConfigurationFile {
    /// The keys the file may set.
    static let keys = ["log-level", "socket-mode", "socket-group", "default-role", "admin", "user", "monitor"]

    /// Parses the file's text; `source` names it in errors; `directory` resolves user and group names.
    public static func parse(
        _ text: String, source: String, directory: PrincipalDirectory = .system
    ) throws(ConfigurationFileError) -> ConfigurationSettings {
        var settings = ConfigurationSettings()
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            let where_ = "\(source):\(index + 1)"
            let parts = trimmed.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else {
                throw ConfigurationFileError(description: "\(where_): expected 'key = value', got '\(trimmed)'")
            }
            let key = parts[0].trimmingCharacters(in: .whitespaces).lowercased()
            let value = parts[1].trimmingCharacters(in: .whitespaces)
            switch key {
            case "log-level":
                guard let level = Logger.Level(rawValue: value.lowercased()) else {
                    let levels = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
                    throw ConfigurationFileError(description: "\(where_): log-level '\(value)' is not one of \(levels)")
                }
                settings.logLevel = level
            case "socket-mode":
                guard let mode = SocketPermissions.parseMode(value) else {
                    throw ConfigurationFileError(
                        description: "\(where_): socket-mode '\(value)' is not octal permission bits (0600, 0660, …)")
                }
                settings.socketMode = mode
            case "socket-group":
                settings.socketGroup = SocketPermissions.Group(parsing: value)
            case "default-role":
                guard let role = ClientRole(name: value) else {
                    throw ConfigurationFileError(
                        description: "\(where_): default-role '\(value)' is not one of admin, user, monitor")
                }
                settings.accessPolicy.defaultRole = role
            case "admin", "user", "monitor":
                let role = ClientRole(name: key)!
                let entries = value.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" })
                guard !entries.isEmpty else {
                    throw ConfigurationFileError(description: "\(where_): \(key) names nobody")
                }
                for entry in entries {
                    do {
                        try settings.accessPolicy.assign(try directory.principal(String(entry)), to: role)
                    } catch let error as PrincipalError {
                        throw ConfigurationFileError(description: "\(where_): \(error)")
                    } catch {
                        throw ConfigurationFileError(description: "\(where_): \(error)")
                    }
                }
            default:
                if let limit = LimitSetting(rawValue: key) {
                    guard let parsed = limit.parse(value) else {
                        throw ConfigurationFileError(
                            description: "\(where_): \(key) '\(value)' is not a number of \(limit.unit)")
                    }
                    settings.limits[limit] = parsed
                    continue
                }
                throw ConfigurationFileError(
                    description:
                        "\(where_): unknown key '\(key)' (keys: \((keys + LimitSetting.allCases.map(\.rawValue)).joined(separator: ", ")))"
                )
            }
        }
        return settings
    }

    /// Reads and parses `path`; a missing file gives the default settings.
    public static func load(
        path: String, directory: PrincipalDirectory = .system
    ) throws(ConfigurationFileError) -> ConfigurationSettings {
        guard FileManager.default.fileExists(atPath: path) else { return ConfigurationSettings() }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationFileError(description: "\(path): cannot read: \(error.localizedDescription)")
        }
        return try parse(text, source: path, directory: directory)
    }
}
