/// One RESP2 reply, the unit heapd answers every request with.
///
/// Modelled on RESP2 exactly, rather than on heapd's own result types, so that the daemon can be driven by
/// `redis-cli` and any Redis client library without a custom protocol layer.
public enum Reply: Sendable, Equatable {
    /// A short status line such as `OK` (`+OK\r\n`); never contains `\r` or `\n`.
    case simple(String)
    /// An error (`-CODE message\r\n`). `code` is a stable single word scripts may match; `message` is prose.
    case error(code: String, message: String)
    /// A signed 64-bit integer (`:42\r\n`).
    case integer(Int64)
    /// A binary-safe string (`$5\r\nhello\r\n`).
    case bulk([UInt8])
    /// The null bulk string (`$-1\r\n`), e.g. for a missing key.
    case null
    /// An array of replies (`*2\r\n...`), possibly nested.
    case array([Reply])
    /// The null array (`*-1\r\n`).
    case nullArray

    /// A bulk string holding the UTF-8 bytes of `string`.
    public static func bulk(_ string: String) -> Reply {
        .bulk(Array(string.utf8))
    }

    /// The conventional success reply, `+OK`.
    public static let ok = Reply.simple("OK")
}
