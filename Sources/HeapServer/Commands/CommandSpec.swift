import HeapProtocol

/// The arguments of one request, after the command name.
struct Arguments {
    let raw: [[UInt8]]
    let strings: [String]

    init(_ raw: ArraySlice<[UInt8]>) {
        self.raw = Array(raw)
        strings = raw.map { String(decoding: $0, as: UTF8.self) }
    }

    var count: Int { strings.count }
    subscript(_ index: Int) -> String { strings[index] }

    func integer(_ index: Int, what: String = "value") throws(CommandError) -> Int64 {
        guard let value = Int64(strings[index]) else {
            throw .syntax("\(what) '\(strings[index])' is not an integer")
        }
        return value
    }
}

/// One command of the protocol: its name, how many arguments it takes, its help, its handler.
struct CommandSpec: Sendable {
    typealias Handler = @Sendable (Session, Arguments) throws(CommandError) -> Reply

    let name: String
    /// Fewest and most arguments after the name (`Int.max` for no limit).
    let arity: ClosedRange<Int>
    let syntax: String
    let summary: String
    let handler: Handler
    /// The least role that may run it (``CommandRoles`` classifies every command).
    let role: ClientRole
    /// Higher roles some first arguments need, by upper-case argument (`GC GARBAGE CLEAR`); empty for most.
    let roleByFirstArgument: [String: ClientRole]

    init(
        _ name: String, arity: ClosedRange<Int>, syntax: String, summary: String,
        handler: @escaping Handler
    ) {
        self.name = name
        self.arity = arity
        self.syntax = syntax
        self.summary = summary
        self.handler = handler
        role = CommandRoles.role(of: name)
        roleByFirstArgument = CommandRoles.byFirstArgument[name] ?? [:]
    }

    /// The role running it with `arguments` needs.
    func role(for arguments: Arguments) -> ClientRole {
        guard !roleByFirstArgument.isEmpty, let first = arguments.strings.first,
            let higher = roleByFirstArgument[first.uppercased()]
        else { return role }
        return max(role, higher)
    }
}

extension CommandSpec {
    /// A command without arguments whose reply `body` computes (`GC ISENABLED`, `TRACEMALLOC STOP`).
    static func simple(_ name: String, _ summary: String, _ body: @escaping @Sendable (Session) -> Reply)
        -> CommandSpec
    {
        CommandSpec(name, arity: 0...0, syntax: name, summary: summary) { session, _ throws(CommandError) in
            body(session)
        }
    }
}
