import HeapCore
import HeapProtocol

/// A command's failure: a stable wire code and a message, sent as `-CODE message`.
///
/// The codes of the heap (``HeapError/Code``) pass through unchanged; the server adds its own.
struct CommandError: Error {
    let code: ErrorCode
    let message: String

    /// The longest message sent: messages quote the client's input (`'<70,000 digits>' is not an
    /// integer`), and an error line longer than a client's line limit (heapd's own decoder allows
    /// 64 KiB) would break the client that sent it. Redis cuts quoted input too.
    static let maxMessageBytes = 1024

    init(_ code: ErrorCode, _ message: String) {
        self.code = code
        let length = message.utf8.count
        if length <= Self.maxMessageBytes {
            self.message = message
        } else {
            let kept = String(decoding: message.utf8.prefix(Self.maxMessageBytes), as: UTF8.self)
            self.message = kept + "… (message cut at \(Self.maxMessageBytes) of \(length) bytes)"
        }
    }

    init(_ error: HeapError) {
        // The core's codes are words of the same vocabulary (a test checks that each is in ErrorCode.all).
        self.init(ErrorCode(rawValue: error.code.rawValue), error.message)
    }

    var reply: Reply { .error(code, message) }

    /// A name that is bound to nothing (Python's `NameError`).
    static func noVariable(_ name: String) -> Self { Self(.noVariable, "no variable named '\(name)'") }
    /// Malformed arguments: not an integer, not a name, a bad type name.
    static func syntax(_ message: String) -> Self { Self(.syntax, message) }
    /// The wrong number of arguments.
    static func arity(_ command: String) -> Self {
        Self(.arguments, "wrong number of arguments for '\(command)' (see HELP \(command))")
    }
    /// A command nobody knows.
    static func unknown(_ command: String) -> Self {
        Self(.unknown, "unknown command '\(command)' (try HELP)")
    }
    /// An operation the session may not do (take a reference through an `#id`).
    static func denied(_ message: String) -> Self { Self(.denied, message) }
    /// A command the client's role does not allow (protocol.md §7 "Roles").
    static func roleRequired(_ command: String, needs: ClientRole, has: ClientRole) -> Self {
        Self(.denied, "\(command) requires role \(needs) (client role \(has))")
    }
    /// A configured limit.
    static func limit(_ message: String) -> Self { Self(.limit, message) }
}

/// Runs a heap operation, turning its typed error into a command error.
@inline(__always)
func heapCall<R>(_ body: () throws(HeapError) -> R) throws(CommandError) -> R {
    do {
        return try body()
    } catch {
        throw CommandError(error)
    }
}
