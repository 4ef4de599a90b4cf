import HeapCore
import HeapProtocol

/// `CLIENT LIST` and `CLIENT INFO`: who is connected, with the credentials the kernel reported and the
/// role the policy gave them, one line per client in Redis's `CLIENT LIST` format.
enum ClientCommands {
    static let specs: [CommandSpec] = [
        CommandSpec(
            "CLIENT LIST", arity: 0...0, syntax: "CLIENT LIST",
            summary: "every connected client, one line each: id=… addr=… uid=… gid=… pid=… role=… age=…",
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
    ]
}
