import HeapCore
import HeapProtocol

/// Every command the server accepts, by upper-case name; protocol.md documents each one.
enum CommandTable {
    static let all: [CommandSpec] =
        ServerCommands.specs + ObjectCommands.specs + ContainerCommands.specs + IntrospectionCommands.specs
        + GCCommands.specs + TracemallocCommands.specs + DiagnosticCommands.specs
        + GeneratorCommands.specs + [HelloCommand.spec] + ClientCommands.specs + CommandCommands.specs
        + ImageCommands.specs

    static let byName: [String: CommandSpec] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// Executes one request in `session` (inside the heap's gate) and returns what is to happen: its
    /// reply, or how the reply comes (``CommandOutcome``). Never throws, never traps on input.
    static func execute(_ request: Request, in session: Session) -> CommandOutcome {
        guard let first = request.arguments.first else { return .reply(CommandError.syntax("empty request").reply) }
        var name = upperName(first)
        var rest = request.arguments.dropFirst()
        while name == "AT" {
            // `AT file:line` alone moves the session; as a prefix it moves it and runs the rest (which
            // may itself start with AT, as when heapctl run prefixes a script line that says AT).
            do {
                guard let place = rest.first else { return .reply(.bulk(session.currentPosition.description)) }
                session.position = try parsePosition(place)
            } catch {
                return .reply(error.reply)
            }
            rest = rest.dropFirst()
            guard let command = rest.first else { return .reply(.ok) }
            name = upperName(command)
            rest = rest.dropFirst()
        }
        // Two-word commands (`GC COLLECT`, `SCOPE PUSH`, `DEBUG VERIFY`) are looked up as one name.
        if let second = rest.first, byName[name] == nil || subcommandGroups.contains(name) {
            let combined = name + " " + upperName(second)
            if byName[combined] != nil {
                name = combined
                rest = rest.dropFirst()
            } else if subcommandGroups.contains(name) {
                return .reply(rejected(.unknown(combined), in: session))
            }
        }
        guard let spec = byName[name] else {
            if subcommandGroups.contains(name) { return .reply(rejected(.arity(name), in: session)) }
            return .reply(rejected(.unknown(name), in: session))
        }
        // In RESP3 events are push messages, which a client tells from replies: it may run anything.
        if session.subscribed && session.protocolVersion == .resp2 && !spec.flags.contains(.allowedWhileSubscribed) {
            return .reply(
                rejected(
                    CommandError(
                        .subscribed,
                        "only PING, QUIT, HELLO and GC UNSUBSCRIBE are allowed while subscribed in RESP2 (HELLO 3 lifts this)"
                    ),
                    in: session))
        }
        let arguments = Arguments(rest)
        if let denied = denial(of: spec, arguments, in: session) { return .reply(denied) }
        guard spec.arity.contains(arguments.count) else { return .reply(rejected(.arity(spec.name), in: session)) }
        if spec.flags.contains(.testOnly) && !session.state.configuration.testCommands {
            return .reply(CommandError.denied("\(spec.name) needs heapd --enable-test-commands").reply)
        }
        session.commandsProcessed += 1
        session.collectionsAtPreviousCommandStart = session.collectionsAtCommandStart
        session.collectionsAtCommandStart = session.heap.collector.collectionsStarted
        // While tracing, the command's allocations belong to the session's position and frames.
        let tracer = session.heap.tracer
        if tracer.isTracing {
            TraceContext.setCurrent(tracer.intern(session.tracebackFrames))
        }
        let outcome: CommandOutcome
        do {
            outcome = try spec.handler(session, arguments)
        } catch {
            return .reply(error.reply)
        }
        if case .afterGate = outcome {
            assert(
                !spec.flags.isDisjoint(with: [.stopsTheWorld, .blocksOnFiles]),
                "\(spec.name) works after the gate: flag it stopsTheWorld or blocksOnFiles")
        }
        return outcome
    }

    /// `file:line`: the file is everything before the last colon; the line a number from 0.
    static func parsePosition(_ bytes: [UInt8]) throws(CommandError) -> TraceFrame {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let frame = TraceFrame(position: text) else { throw .syntax("position '\(text)' is not file:line") }
        return frame
    }

    /// A command word in upper case; most clients send it so already, which costs no conversion.
    @inline(__always)
    static func upperName(_ bytes: [UInt8]) -> String {
        if bytes.contains(where: { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") }) {
            return String(decoding: bytes, as: UTF8.self).uppercased()
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// First words that only exist with a second word.
    /// (`COMMAND` is one too: alone it is a command of its own.)
    static let subcommandGroups: Set<String> = ["SCOPE", "DEBUG", "GC", "TRACEMALLOC", "CLIENT", "COMMAND"]
}
