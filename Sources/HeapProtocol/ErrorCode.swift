/// The first word of an error reply (`-NOVAR no variable named 'x'`): heapd's one vocabulary of
/// failures, used by the request decoder (``ProtocolError/code``), the commands, the replies
/// (``Reply/error(_:_:)``, ``Reply/errorCode``) and the tests.
///
/// A code is stable: scripts and clients match on it, while the message after it is for people and
/// may change. protocol.md §4 documents each one; ``all`` lists them, and a test checks that the two
/// agree. A struct rather than an enum, as swift-service-lifecycle's error codes: a client decodes a
/// reply from any server, whose codes it may not know, and keeps them as they came.
public struct ErrorCode: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public init(stringLiteral value: String) {
        rawValue = value
    }

    public var description: String { rawValue }

    /// No variable (or global) of that name (`NameError`).
    public static let noVariable: ErrorCode = "NOVAR"
    /// No live object with that id (a dangling `#id`).
    public static let noObject: ErrorCode = "NOOBJ"
    /// The operation does not apply to the object's type.
    public static let wrongType: ErrorCode = "WRONGTYPE"
    /// An unhashable set element, a non-integer list index (`TypeError`).
    public static let type: ErrorCode = "TYPE"
    /// An index out of range, a pop from an empty list (`IndexError`).
    public static let index: ErrorCode = "INDEX"
    /// A missing dict key, set element or attribute (`KeyError`).
    public static let key: ErrorCode = "KEY"
    /// A value outside its domain (`ValueError`).
    public static let value: ErrorCode = "VALUE"
    /// A malformed argument, or bad inline quoting.
    public static let syntax: ErrorCode = "SYNTAX"
    /// The wrong number of arguments.
    public static let arguments: ErrorCode = "ARGS"
    /// An unknown command or subcommand.
    public static let unknown: ErrorCode = "UNKNOWN"
    /// The client's role does not allow it, an `#id` asked to give a reference, a test-only command.
    public static let denied: ErrorCode = "DENIED"
    /// `SCOPE POP` at the top level.
    public static let scope: ErrorCode = "SCOPE"
    /// `NEXT` on an exhausted generator (`StopIteration`).
    public static let stop: ErrorCode = "STOP"
    /// The server is not in the state the command needs (`RuntimeError`).
    public static let state: ErrorCode = "STATE"
    /// No stored tracemalloc snapshot with that number.
    public static let noSnapshot: ErrorCode = "NOSNAPSHOT"
    /// A file the daemon was asked to read or write failed (`OSError`).
    public static let io: ErrorCode = "IO"
    /// A configured limit was reached; the connection counts every such reply as a limit hit.
    public static let limit: ErrorCode = "LIMIT"
    /// A command stopped because its client hung up or heapd is shutting down.
    public static let cancelled: ErrorCode = "CANCELLED"
    /// `GC WAIT`'s timeout passed first.
    public static let timeout: ErrorCode = "TIMEOUT"
    /// A command other than those allowed while subscribed.
    public static let subscribed: ErrorCode = "SUBSCRIBED"
    /// Malformed RESP framing; the connection is closed.
    public static let proto: ErrorCode = "PROTO"
    /// `HELLO` asked for a protocol version heapd does not speak (Redis's code).
    public static let noProto: ErrorCode = "NOPROTO"

    /// Every code heapd sends, in protocol.md's order.
    public static let all: [ErrorCode] = [
        .noVariable, .noObject, .wrongType, .type, .index, .key, .value, .syntax, .arguments, .unknown, .denied,
        .scope, .stop, .state, .noSnapshot, .io, .limit, .cancelled, .timeout, .subscribed, .proto, .noProto,
    ]
}

extension Reply {
    /// The error reply `-CODE message`.
    public static func error(_ code: ErrorCode, _ message: String) -> Reply {
        .error(code: code.rawValue, message: message)
    }

    /// The code of an error reply; nil for any other reply.
    public var errorCode: ErrorCode? {
        guard case .error(let code, _) = self else { return nil }
        return ErrorCode(rawValue: code)
    }
}
