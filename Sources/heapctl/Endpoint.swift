import Foundation
import HeapClient
import HeapProtocol

/// Where and how heapctl connects: the socket path and the per-reply timeout, resolved once from the
/// command line and the environment.
struct Endpoint {
    /// The Unix socket path, shown in the prompt and in every connection message.
    let socketPath: String
    /// Seconds a send or receive may block; `0` waits forever, as `redis-cli` does, because a long-running
    /// command (verifying a big heap) is not a failure.
    let timeout: Double

    /// Resolves `--socket` against heapd's own default (`DefaultSocketPath`), so that heapctl finds a heapd
    /// started without flags by the same user, in the same environment.
    init(socket: String?, timeout: Double?) {
        socketPath =
            socket ?? DefaultSocketPath.resolve(environment: ProcessInfo.processInfo.environment, uid: getuid())
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
            Console.error(error.description)
            return nil
        }
    }
}
