import Glibc
import HeapProtocol

/// Which socket heapctl connects to when neither `--socket` nor `$HEAPD_SOCKET` names one.
///
/// heapd binds a per-user default (`DefaultSocketPath`: `$XDG_RUNTIME_DIR/heapd.sock`, else
/// `/tmp/heapd-UID.sock`), but the service a package or the README's install steps set up listens on
/// the socket unit's `/run/heapd/heapd.sock`. A user who runs no heapd of their own means that one, so
/// heapctl tries the per-user socket first and the system socket after it, and takes the first that
/// exists. `$HEAPD_SOCKET` is an explicit choice: nothing else is tried. The Python client
/// (`clients/python/src/heapd/_socket.py`) follows the same order.
enum SocketDiscovery {
    /// The socket `systemd/heapd.socket` owns.
    static let systemSocket = "/run/heapd/heapd.sock"

    /// The paths to try, in order: `$HEAPD_SOCKET` alone, else heapd's per-user default and then the
    /// system socket (once, for root, whose default it already is).
    static func candidates(environment: [String: String], uid: UInt32) -> [String] {
        let first = DefaultSocketPath.resolve(environment: environment, uid: uid)
        if let explicit = environment["HEAPD_SOCKET"], !explicit.isEmpty {
            return [explicit]
        }
        return first == systemSocket ? [first] : [first, systemSocket]
    }

    /// The first candidate `isSocket` accepts, else the first candidate (whose failure to connect then
    /// names heapd's own default). `candidates` is never empty.
    static func choose(from candidates: [String], isSocket: (String) -> Bool) -> String {
        candidates.first(where: isSocket) ?? candidates[0]
    }

    /// Whether a socket exists at `path` (following a symbolic link, as `connect` does).
    static func isSocket(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFSOCK
    }
}
