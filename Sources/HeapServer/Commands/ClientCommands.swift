import HeapCore
import HeapProtocol

/// The `CLIENT` commands: who is connected (with the credentials the kernel reported and the role the
/// policy gave them, one line per client in Redis's `CLIENT LIST` format), what a connection says about
/// itself (a name, its library), and closing other clients (`CLIENT KILL`, admin only).
enum ClientCommands {
    static let specs: [CommandSpec] = [
        CommandSpec(
            "CLIENT LIST", arity: 0...0, syntax: "CLIENT LIST",
            summary: "every connected client, one line each: id=… addr=… uid=… gid=… pid=… role=… age=… name=…",
            handler: { session, _ throws(CommandError) in
                let now = CycleCollector.now()
                return .bulk(session.state.clients().map { $0.listLine(now: now) + "\n" }.joined())
            }),
        CommandSpec(
            "CLIENT INFO", arity: 0...0, syntax: "CLIENT INFO",
            summary: "this connection's line of CLIENT LIST (its id, credentials and role)",
            handler: { session, _ throws(CommandError) in
                .bulk(session.client.listLine(now: CycleCollector.now()) + "\n")
            }),
        CommandSpec(
            "CLIENT ID", arity: 0...0, syntax: "CLIENT ID", summary: "this connection's id",
            handler: { session, _ throws(CommandError) in .integer(Int64(session.id)) }),
        CommandSpec(
            "CLIENT SETNAME", arity: 1...1, syntax: "CLIENT SETNAME connection-name",
            summary: "names this connection in CLIENT LIST (an empty name clears it)",
            handler: { session, arguments throws(CommandError) in
                let name = arguments[0]
                guard ClientInfo.isValidLabel(name) else { throw invalidLabel("name") }
                session.client.clientLabels.name = name
                return .ok
            }),
        CommandSpec(
            "CLIENT GETNAME", arity: 0...0, syntax: "CLIENT GETNAME", summary: "this connection's name, or nil",
            handler: { session, _ throws(CommandError) in
                let name = session.client.clientLabels.name
                return name.isEmpty ? .null : .bulk(name)
            }),
        CommandSpec(
            "CLIENT SETINFO", arity: 2...2, syntax: "CLIENT SETINFO LIB-NAME|LIB-VER value",
            summary: "the client library's name or version, shown in CLIENT LIST (lib-name=, lib-ver=)",
            handler: { session, arguments throws(CommandError) in
                let value = arguments[1]
                switch arguments[0].uppercased() {
                case "LIB-NAME":
                    guard ClientInfo.isValidLabel(value) else { throw invalidLabel("library name") }
                    session.client.clientLabels.libraryName = value
                case "LIB-VER":
                    guard ClientInfo.isValidLabel(value) else { throw invalidLabel("library version") }
                    session.client.clientLabels.libraryVersion = value
                default:
                    throw .syntax("unknown CLIENT SETINFO attribute '\(arguments[0])' (LIB-NAME, LIB-VER)")
                }
                return .ok
            }),
        CommandSpec(
            "CLIENT KILL", arity: 1...Int.max, syntax: "CLIENT KILL addr | ID client-id | ADDR addr | SKIPME yes|no",
            summary: "closes the connections of the clients named (their references are released); replies how many",
            outcome: { session, arguments throws(CommandError) in
                try kill(session, arguments)
            }),
    ]

    /// The error for a name or library label with spaces, line breaks or other special characters.
    static func invalidLabel(_ what: String) -> CommandError {
        .syntax("a client \(what) cannot contain spaces, newlines or special characters")
    }

    /// `CLIENT KILL`, as Redis's: the old form (one address: `+OK`, or an error when no client has it) and
    /// the filters `ID n`, `ADDR a` and `SKIPME yes|no` (default yes), every one of which a client must
    /// match, replying how many were closed. Unix clients share one address (the socket's), so `ADDR`
    /// names every client of that socket. The caller, when it is among them, gets its reply, then closes.
    private static func kill(_ session: Session, _ arguments: Arguments) throws(CommandError) -> CommandOutcome {
        if arguments.count == 1 {
            let address = arguments[0]
            let killed = session.state.kill(sparing: session.id) { $0.address == address }
            if killed.isEmpty && session.client.address != address {
                throw CommandError(.value, "no client with address '\(address)'")
            }
            return session.client.address == address ? .replyAndClose(.ok) : .reply(.ok)
        }
        guard arguments.count % 2 == 0 else {
            throw .syntax("CLIENT KILL takes filters as pairs: ID n, ADDR a, SKIPME yes|no")
        }
        var ids: Set<Int> = []
        var addresses: Set<String> = []
        var skipMe = true
        for index in stride(from: 0, to: arguments.count, by: 2) {
            let value = arguments[index + 1]
            switch arguments[index].uppercased() {
            case "ID":
                guard let id = Int(value), id > 0 else {
                    throw .syntax("client id '\(value)' is not a positive integer")
                }
                ids.insert(id)
            case "ADDR":
                addresses.insert(value)
            case "SKIPME":
                switch value.lowercased() {
                case "yes": skipMe = true
                case "no": skipMe = false
                default: throw .syntax("SKIPME takes yes or no, not '\(value)'")
                }
            default:
                throw .syntax("unknown CLIENT KILL filter '\(arguments[index])' (ID, ADDR, SKIPME)")
            }
        }
        guard ids.count <= 1, addresses.count <= 1 else {
            // Redis's filters are a conjunction: two different ids (or addresses) match no client.
            return .reply(.integer(0))
        }
        let matches: (ClientInfo) -> Bool = { client in
            (ids.isEmpty || ids.contains(client.id)) && (addresses.isEmpty || addresses.contains(client.address))
        }
        let killed = session.state.kill(sparing: session.id, matching: matches)
        if !skipMe && matches(session.client) {
            return .replyAndClose(.integer(Int64(killed.count + 1)))
        }
        return .reply(.integer(Int64(killed.count)))
    }
}
