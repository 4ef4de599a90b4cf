import HeapProtocol

/// One command of the protocol, described once: its name, how many arguments it takes, its help, what
/// it needs and does to its connection (``CommandFlags``, the role), and its handler.
///
/// The handler runs inside the heap's gate and returns a ``CommandOutcome``: the reply, or how the
/// reply comes (after the gate, later, in steps). Nothing else about a command is decided elsewhere:
/// ``CommandTable`` applies the flags, ``ConnectionHandler`` performs the outcome.
///
/// A class: every request takes its command's description from the table, and a reference is one
/// retain where a copy of this value was seven (its strings, its handler, its role table).
final class CommandSpec: Sendable {
    typealias Handler = @Sendable (Session, Arguments) throws(CommandError) -> CommandOutcome
    /// The handler of a command that always replies at once (most of them).
    typealias ReplyHandler = @Sendable (Session, Arguments) throws(CommandError) -> Reply

    let name: String
    /// Fewest and most arguments after the name (`Int.max` for no limit).
    let arity: ClosedRange<Int>
    let syntax: String
    let summary: String
    let flags: CommandFlags
    /// The handler, one of two kinds: most commands reply at once (called directly rather than through
    /// a closure wrapping it into an outcome: one call and one retain fewer per request).
    private let body: Body
    private enum Body {
        case outcome(Handler)
        case reply(ReplyHandler)
    }
    /// The least role that may run it (``CommandRoles`` classifies every command, in one table that a
    /// reviewer reads at once).
    let role: ClientRole
    /// Higher roles some first arguments need, by upper-case argument (`GC GARBAGE CLEAR`); empty for most.
    let roleByFirstArgument: [String: ClientRole]

    private init(
        _ name: String, arity: ClosedRange<Int>, syntax: String, summary: String, flags: CommandFlags, body: Body
    ) {
        self.name = name
        self.arity = arity
        self.syntax = syntax
        self.summary = summary
        self.flags = flags
        self.body = body
        role = CommandRoles.role(of: name)
        roleByFirstArgument = CommandRoles.byFirstArgument[name] ?? [:]
    }

    /// A command whose handler says what is to happen (``CommandOutcome``).
    convenience init(
        _ name: String, arity: ClosedRange<Int>, syntax: String, summary: String, flags: CommandFlags = [],
        outcome: @escaping Handler
    ) {
        self.init(name, arity: arity, syntax: syntax, summary: summary, flags: flags, body: .outcome(outcome))
    }

    /// A command that replies at once; with ``CommandFlags/closesConnection``, it replies and closes.
    convenience init(
        _ name: String, arity: ClosedRange<Int>, syntax: String, summary: String, flags: CommandFlags = [],
        handler: @escaping ReplyHandler
    ) {
        self.init(name, arity: arity, syntax: syntax, summary: summary, flags: flags, body: .reply(handler))
    }

    /// Runs the handler: what is to happen (a reply at once, or ``replyAndClose`` for a command flagged
    /// ``CommandFlags/closesConnection``, or what the handler says).
    @inline(__always)
    func run(_ session: Session, _ arguments: Arguments) throws(CommandError) -> CommandOutcome {
        switch body {
        case .reply(let replies):
            let reply = try replies(session, arguments)
            return flags.contains(.closesConnection) ? .replyAndClose(reply) : .reply(reply)
        case .outcome(let handler):
            return try handler(session, arguments)
        }
    }

    /// The role running it with `arguments` needs.
    func role(for arguments: Arguments) -> ClientRole {
        guard !roleByFirstArgument.isEmpty, arguments.count > 0, case let first = arguments[0],
            let higher = roleByFirstArgument[first.uppercased()]
        else { return role }
        return max(role, higher)
    }
}

/// What a command needs and does beyond its reply, which ``CommandTable`` and the connection read
/// instead of lists of names of their own.
struct CommandFlags: OptionSet, Sendable {
    let rawValue: UInt8

    /// It stops the world or waits for the collector thread: it returns ``CommandOutcome/afterGate(_:)``,
    /// whose work runs off the event loop (`GC COLLECT`, `DEBUG VERIFY`, `GC FREEZE`).
    static let stopsTheWorld = CommandFlags(rawValue: 1 << 0)
    /// It reads or writes a snapshot file: ``CommandOutcome/afterGate(_:)`` too, so that no stop of the
    /// world waits for the disk (`TRACEMALLOC DUMP`, `TRACEMALLOC LOAD`).
    static let blocksOnFiles = CommandFlags(rawValue: 1 << 1)
    /// A subscribed connection (`GC SUBSCRIBE`) may run it; it may run nothing else.
    static let allowedWhileSubscribed = CommandFlags(rawValue: 1 << 2)
    /// Only with `heapd --enable-test-commands` (`GC DEBUG_STALL`); refused with `-DENIED` otherwise.
    static let testOnly = CommandFlags(rawValue: 1 << 3)
    /// The connection closes after its reply (`QUIT`); requests after it are not run.
    static let closesConnection = CommandFlags(rawValue: 1 << 4)
}

extension CommandSpec {
    /// A command without arguments whose reply `body` computes (`GC ISENABLED`, `TRACEMALLOC STOP`).
    static func simple(
        _ name: String, _ summary: String, flags: CommandFlags = [], _ body: @escaping @Sendable (Session) -> Reply
    ) -> CommandSpec {
        CommandSpec(name, arity: 0...0, syntax: name, summary: summary, flags: flags) {
            session, _ throws(CommandError) -> Reply in
            body(session)
        }
    }
}
