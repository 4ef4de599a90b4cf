import Foundation

/// The one directory `TRACEMALLOC DUMP` writes to and `TRACEMALLOC LOAD` reads from.
///
/// Clients name files, never paths: a client that may talk to heapd may not thereby write or read any
/// file heapd's user can (Redis keeps its dumps in its own `dir` for the same reason).
public enum SnapshotDirectory {
    /// `$STATE_DIRECTORY` (set by systemd for `StateDirectory=`), else `/var/lib/heapd` for root, else
    /// `$XDG_STATE_HOME/heapd` (by default `~/.local/state/heapd`).
    public static func resolve(environment: [String: String], uid: uid_t) -> String {
        if let state = environment["STATE_DIRECTORY"], let first = state.split(separator: ":").first {
            return String(first)
        }
        if uid == 0 { return "/var/lib/heapd" }
        if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") { return xdg + "/heapd" }
        return (environment["HOME"] ?? "/tmp") + "/.local/state/heapd"
    }

    /// A file name a client may use: letters, digits, `.`, `_`, `-`, not starting with `.`.
    static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, first != UInt8(ascii: "."), name.utf8.count <= 255 else { return false }
        return name.utf8.allSatisfy { byte in
            (byte | 0x20) >= 97 && (byte | 0x20) <= 122 || byte >= 48 && byte <= 57
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }

    /// The path of `name` in `directory`, or `SYNTAX` for a name that is not a plain file name.
    static func path(of name: String, in directory: String) throws(CommandError) -> String {
        guard isValidName(name) else {
            throw .syntax(
                "'\(name)' is not a snapshot file name (letters, digits, . _ -, not starting with .;"
                    + " files live in heapd's snapshot directory)")
        }
        return directory + "/" + name
    }
}
