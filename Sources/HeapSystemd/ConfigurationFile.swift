import Foundation
import HeapServer
import Logging

/// What heapd re-reads on SIGHUP (`systemctl reload heapd`), from its configuration file (`--config`).
///
/// Only `log-level` can change under running clients. The file may also set the limits
/// (``LimitSetting``), which are read at start only (change them with a restart):
///
///     # /etc/heapd/heapd.conf
///     log-level = debug     # trace, debug, info, notice, warning, error, critical
///     max-reply = 16M       # a limit: fixed at start; a --max-reply flag wins
///
/// The format: one `key = value` a line, `#` starts a comment, blank lines ignored. A missing file is
/// an empty one (nothing overridden). A malformed file fails start-up; on reload it is reported and
/// the running settings stay.
public struct ReloadableSettings: Sendable, Equatable {
    /// The log level; nil leaves the `--log-level` value.
    public var logLevel: Logger.Level?
    /// Limits (``LimitSetting``: `max-reply = 16M`, `command-time-limit = 2000`, …). Read at start only,
    /// where a flag given on the command line wins; on reload they are checked but not applied.
    public var limits: [LimitSetting: Int]

    public init(logLevel: Logger.Level? = nil, limits: [LimitSetting: Int] = [:]) {
        self.logLevel = logLevel
        self.limits = limits
    }
}

/// Why a configuration file was rejected; the message names the file and line.
public struct ConfigurationFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
}

public enum ConfigurationFile {
    /// Parses the file's text; `source` names it in errors.
    public static func parse(_ text: String, source: String) throws(ConfigurationFileError) -> ReloadableSettings {
        var settings = ReloadableSettings()
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
                        "\(where_): unknown key '\(key)' (log-level, or a limit: \(LimitSetting.allCases.map(\.rawValue).joined(separator: ", ")))"
                )
            }
        }
        return settings
    }

    /// Reads and parses `path`; a missing file gives empty settings.
    public static func load(path: String) throws(ConfigurationFileError) -> ReloadableSettings {
        guard FileManager.default.fileExists(atPath: path) else { return ReloadableSettings() }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationFileError(description: "\(path): cannot read: \(error.localizedDescription)")
        }
        return try parse(text, source: path)
    }
}
