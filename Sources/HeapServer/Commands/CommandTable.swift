import HeapCore
import HeapProtocol

/// Every command the server accepts, by upper-case name; protocol.md documents each one.
enum CommandTable {
    static let all: [CommandSpec] =
        ServerCommands.specs + ObjectCommands.specs + ContainerCommands.specs + IntrospectionCommands.specs
        + GCCommands.specs + TracemallocCommands.specs + DiagnosticCommands.specs
        + GeneratorCommands.specs + [HelloCommand.spec] + ClientCommands.specs + CommandCommands.specs
        + ImageCommands.specs

    /// ``all``'s names, for the lookup of each request (from its bytes) and of a name in any case.
    static let names = CommandNames(all.map(\.name))

    /// The command called `name` (`GC COLLECT`, in any case), if any.
    static func spec(named name: String) -> CommandSpec? {
        names.find(Array(name.utf8)).map { all[$0] }
    }
    /// Per command of ``all``: whether its name is also the first word of two-word commands (`COMMAND`).
    static let startsGroup: [Bool] = all.map { subcommandGroups.contains($0.name) }

    /// Executes one request in `session` (inside the heap's gate) and returns what is to happen: its
    /// reply, or how the reply comes (``CommandOutcome``). Never throws, never traps on input.
    static func execute(_ request: Request, in session: Session) -> CommandOutcome {
        execute(words: Arguments(request.arguments), in: session)
    }

    /// ``execute(_:in:)`` over a request's words where they are (framed in the connection's buffer, or
    /// a decoded request's arrays): the name is looked up from its bytes and the arguments handed on as
    /// a view of the same words.
    ///
    /// `consuming`, and the arguments are the same view with the name removed: a copy would be a retain
    /// and a release per request.
    static func execute(words request: consuming Arguments, in session: Session) -> CommandOutcome {
        guard request.count > 0 else { return .reply(CommandError.syntax("empty request").reply) }
        // The command word's index in `request`; the arguments follow it (and its second word, if any).
        var word = 0
        while isAT(request.bytes(word)) {
            // `AT file:line` alone moves the session; as a prefix it moves it and runs the rest (which
            // may itself start with AT, as when heapctl run prefixes a script line that says AT).
            do {
                guard word + 1 < request.count else { return .reply(.bulk(session.currentPosition.description)) }
                session.position = try parsePosition(request[word + 1])
            } catch {
                return .reply(error.reply)
            }
            word += 2
            guard word < request.count else { return .reply(.ok) }
        }
        var rest = word + 1
        var found: Int?
        if session.lastCommandWord.matches(request.bytes(word)) {
            // The word of the session's last one-word command, byte for byte: the same command (the
            // lookup depends on the bytes alone), found without hashing (about 150 instructions of
            // GETREFCOUNT's, whose name is 11 bytes).
            found = session.lastCommandIndex
        } else {
            // Two-word commands (`GC COLLECT`, `SCOPE PUSH`, `DEBUG VERIFY`) are looked up as one name.
            found = names.find(request.bytes(word))
            if rest < request.count, found.map({ startsGroup[$0] }) ?? true {
                if let combined = names.find(request.bytes(word), request.bytes(rest)) {
                    found = combined
                    rest += 1
                } else if subcommandGroups.contains(upperName(request[word])) {
                    return .reply(
                        rejected(.unknown(upperName(request[word]) + " " + upperName(request[rest])), in: session))
                }
            } else if let index = found, !startsGroup[index] {
                // Only a word that is a whole command (not `GC`, nor `COMMAND`, which may start a
                // two-word one) is remembered, so that a match never needs the second word.
                session.lastCommandWord = PackedName(request.bytes(word))
                session.lastCommandIndex = index
            }
        }
        guard let index = found else {
            let name = upperName(request[word])
            if subcommandGroups.contains(name) { return .reply(rejected(.arity(name), in: session)) }
            return .reply(rejected(.unknown(name), in: session))
        }
        let spec = all[index]
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
        var arguments = request
        arguments.removeFirst(rest)
        if let denied = denial(of: spec, arguments, in: session) { return .reply(denied) }
        guard spec.arity.contains(arguments.count) else { return .reply(rejected(.arity(spec.name), in: session)) }
        if spec.flags.contains(.testOnly) && !session.state.configuration.testCommands {
            return .reply(CommandError.denied("\(spec.name) needs heapd --enable-test-commands").reply)
        }
        session.commandsProcessed += 1
        session.collectionsAtPreviousCommandStart = session.collectionsAtCommandStart
        session.collectionsAtCommandStart = session.collector.collectionsStarted
        // While tracing, the command's allocations belong to the session's position and frames.
        let tracer = session.tracer
        if tracer.isTracing {
            TraceContext.setCurrent(tracer.intern(session.tracebackFrames))
        }
        let outcome: CommandOutcome
        do {
            outcome = try spec.run(session, arguments)
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
    static func parsePosition(_ text: String) throws(CommandError) -> TraceFrame {
        guard let frame = TraceFrame(position: text) else { throw .syntax("position '\(text)' is not file:line") }
        return frame
    }

    /// Whether a command word is `AT` (in any case).
    @inline(__always)
    static func isAT(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count == 2 && bytes[0] | 0x20 == UInt8(ascii: "a") && bytes[1] | 0x20 == UInt8(ascii: "t")
    }

    /// A command word in upper case (for error messages; the lookup reads the bytes).
    static func upperName(_ word: String) -> String {
        word.utf8.contains(where: { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") }) ? word.uppercased() : word
    }

    /// First words that only exist with a second word.
    /// (`COMMAND` is one too: alone it is a command of its own.)
    static let subcommandGroups: Set<String> = ["SCOPE", "DEBUG", "GC", "TRACEMALLOC", "CLIENT", "COMMAND"]
}
