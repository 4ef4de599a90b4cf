import Foundation
import HeapClient
import HeapProtocol

/// Where and how heapctl connects: the socket path and the per-reply timeout, resolved once from the
/// command line and the environment.
struct Endpoint {
    /// The Unix socket path, shown in the prompt and in every connection message.
    let socketPath: String
    /// The other paths heapctl looked at and found no socket at (`SocketDiscovery`), named when the
    /// connection fails so that the message says everything that was tried.
    let alsoTried: [String]
    /// Seconds a send or receive may block; `0` waits forever, as `redis-cli` does, because a long-running
    /// command (verifying a big heap) is not a failure.
    let timeout: Double

    /// Resolves `--socket`, else `SocketDiscovery`'s choice: `$HEAPD_SOCKET`, else the per-user default
    /// heapd itself binds (so heapctl finds a heapd started without flags by the same user, in the same
    /// environment), else the system service's socket when only that one exists.
    init(socket: String?, timeout: Double?) {
        if let socket {
            socketPath = socket
            alsoTried = []
        } else {
            let candidates = SocketDiscovery.candidates(
                environment: ProcessInfo.processInfo.environment, uid: getuid())
            let chosen = SocketDiscovery.choose(from: candidates, isSocket: SocketDiscovery.isSocket)
            socketPath = chosen
            alsoTried = candidates.filter { $0 != chosen && !SocketDiscovery.isSocket($0) }
        }
        self.timeout = timeout ?? 0
    }

    /// Opens a new connection, which is a new heapd session with no variables.
    func connect() throws(ClientError) -> HeapConnection {
        try HeapConnection(socketPath: socketPath, timeout: timeout)
    }

    /// Connects, or says why not on stderr and returns nil (every mode then exits `.connectionFailed`).
    func connectOrReport() -> HeapConnection? {
        do throws(ClientError) {
            return try connect()
        } catch {
            report(error)
            return nil
        }
    }

    /// Says on stderr why talking to heapd failed. A failed connect also names the other paths looked at,
    /// and a refused system socket the group that admits users (a new group counts from the next login).
    func report(_ error: ClientError) {
        Console.error(error.description)
        guard case .connect(let path, let errno) = error else { return }
        if !alsoTried.isEmpty {
            Console.error(
                "also looked for a socket at \(alsoTried.joined(separator: " and ")): none there; "
                    + "--socket or $HEAPD_SOCKET names another")
        }
        if path == SocketDiscovery.systemSocket && (errno == EACCES || errno == EPERM) && getuid() != 0 {
            Console.error(
                "the system socket admits root and the group heapd-clients: sudo usermod -aG heapd-clients "
                    + "$USER, then log in again (id lists the groups this login has)")
        }
    }
}
