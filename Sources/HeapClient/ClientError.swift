import Glibc
import HeapProtocol

/// Why talking to heapd failed.
///
/// Server-side command failures are *not* client errors: they arrive as `Reply.error` values. These cases
/// cover the transport, where the right reaction (retry, start the daemon, fix the path) differs per case.
public enum ClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `connect(2)` on the socket at `path` failed with `errno`.
    case connect(path: String, errno: Int32)
    /// The socket path does not fit in `sockaddr_un.sun_path` (107 bytes plus the terminating NUL).
    case pathTooLong(String)
    /// A socket call failed with `errno` after the connection was established.
    case io(errno: Int32)
    /// The server closed the connection (EOF, `EPIPE` or `ECONNRESET`).
    case closedByServer
    /// No data (or no room to send) within the connection's timeout.
    case timeout
    /// The server sent bytes that are not valid RESP2.
    case protocolError(ProtocolError)
    /// The connection was already closed, by `close()` or after an earlier error.
    case notConnected

    /// A one-line explanation suitable for showing to a user as is.
    public var description: String {
        switch self {
        case .connect(let path, let errno):
            "could not connect to heapd at \(path): \(Self.describe(errno: errno))\(Self.hint(errno: errno))"
        case .pathTooLong(let path):
            "socket path is too long (\(path.utf8.count) bytes, max \(UnixSocket.maxPathLength)): \(path)"
        case .io(let errno):
            "I/O error talking to heapd: \(Self.describe(errno: errno))"
        case .closedByServer:
            "heapd closed the connection"
        case .timeout:
            "timed out waiting for heapd"
        case .protocolError(let error):
            "invalid reply from heapd: \(error.message)"
        case .notConnected:
            "not connected to heapd (the connection was closed)"
        }
    }

    /// The C library's text for `errno`, e.g. "No such file or directory".
    static func describe(errno: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard strerror_r(errno, &buffer, buffer.count) == 0 else {
            return "error \(errno)"
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// What the user can probably do about a failed connect.
    private static func hint(errno: Int32) -> String {
        switch errno {
        case ENOENT, ECONNREFUSED: " (is heapd running?)"
        case EACCES, EPERM: " (check the socket's permissions)"
        default: ""
        }
    }
}
