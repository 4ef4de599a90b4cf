/// One reply, the unit heapd answers every request with.
///
/// Modelled on RESP exactly, rather than on heapd's own result types, so that the daemon can be driven by
/// `redis-cli` and any Redis client library without a custom protocol layer. The RESP2 cases are what
/// every connection starts with; the RESP3 ones (``map(_:)``, ``set(_:)``, ``double(_:)``,
/// ``boolean(_:)``, ``push(_:)``) say more about a value, and each has a RESP2 form (a flat array, an
/// array, a bulk string, an integer, an array), so a command builds one reply whatever its connection
/// speaks and ``encode(into:version:)`` writes what that connection asked for with `HELLO`.
public enum Reply: Sendable, Equatable {
    /// A short status line such as `OK` (`+OK\r\n`); never contains `\r` or `\n`.
    case simple(String)
    /// An error (`-CODE message\r\n`). `code` is a stable single word scripts may match; `message` is prose.
    case error(code: String, message: String)
    /// A signed 64-bit integer (`:42\r\n`).
    case integer(Int64)
    /// A binary-safe string (`$5\r\nhello\r\n`).
    case bulk([UInt8])
    /// The null bulk string (`$-1\r\n`; RESP3 `_\r\n`), e.g. for a missing key.
    case null
    /// An array of replies (`*2\r\n...`), possibly nested.
    case array([Reply])
    /// The null array (`*-1\r\n`; RESP3 `_\r\n`).
    case nullArray
    /// A map of key/value pairs in order (RESP3 `%2\r\n...`; RESP2: the flat array key, value, key, …).
    case map([MapEntry])
    /// An unordered collection of distinct values (RESP3 `~2\r\n...`; RESP2: an array).
    case set([Reply])
    /// A floating-point number (RESP3 `,2.5\r\n`; RESP2: a bulk string of the same text, as Redis sends).
    case double(Double)
    /// A boolean (RESP3 `#t\r\n`; RESP2: the integer 1 or 0).
    case boolean(Bool)
    /// Data sent without a request (RESP3 `>3\r\n...`; RESP2: an array, on a subscribed connection).
    case push([Reply])

    /// One key/value pair of a ``Reply/map(_:)``.
    public struct MapEntry: Sendable, Equatable {
        public var key: Reply
        public var value: Reply

        public init(_ key: Reply, _ value: Reply) {
            self.key = key
            self.value = value
        }

        /// A pair with a bulk-string key, the usual case (`"proto" => 3`).
        public init(_ key: String, _ value: Reply) {
            self.init(.bulk(key), value)
        }
    }

    /// A bulk string holding the UTF-8 bytes of `string`.
    public static func bulk(_ string: String) -> Reply {
        .bulk(Array(string.utf8))
    }

    /// The conventional success reply, `+OK`.
    public static let ok = Reply.simple("OK")
}

/// The reply encoding a connection speaks: RESP2 until it sends `HELLO 3`.
public enum ProtocolVersion: Int, Sendable, Equatable, CaseIterable {
    case resp2 = 2
    case resp3 = 3
}
