import HeapProtocol

/// `HELLO [protover [AUTH username password] [SETNAME name]]`: Redis 6's handshake, which every Redis
/// client of today sends first (redis-py 8 with `HELLO 3`). It chooses the connection's reply encoding,
/// RESP2 or RESP3 (``ProtocolVersion``), and answers who the server is, as Redis's map.
///
/// heapd has no passwords: who a client is comes from the kernel (`SO_PEERCRED`, protocol.md §7), so
/// `AUTH` is accepted with any credentials and changes nothing, as Redis's passwordless default user does.
enum HelloCommand {
    static let spec = CommandSpec(
        "HELLO", arity: 0...6, syntax: "HELLO [protover [AUTH username password] [SETNAME clientname]]",
        summary:
            "switches the connection to RESP2 or RESP3 and replies the server's map (server, version, proto, id, …)",
        flags: .allowedWhileSubscribed,
        handler: { session, arguments throws(CommandError) in
            var version = session.protocolVersion
            var name: String?
            if arguments.count > 0 {
                guard let requested = Int(arguments[0]) else {
                    throw .syntax("protocol version '\(arguments[0])' is not an integer")
                }
                guard let chosen = ProtocolVersion(rawValue: requested) else {
                    throw CommandError(.noProto, "unsupported protocol version \(requested) (heapd speaks 2 and 3)")
                }
                version = chosen
                var index = 1
                while index < arguments.count {
                    switch arguments[index].uppercased() {
                    case "AUTH" where index + 2 < arguments.count:
                        index += 3
                    case "SETNAME" where index + 1 < arguments.count:
                        let requestedName = arguments[index + 1]
                        guard ClientInfo.isValidLabel(requestedName) else { throw ClientCommands.invalidLabel("name") }
                        name = requestedName
                        index += 2
                    default:
                        throw .syntax("syntax error in HELLO option '\(arguments[index])'")
                    }
                }
            }
            // All or nothing: nothing changes until every option was read.
            session.protocolVersion = version
            if let name { session.client.clientLabels.name = name }
            return serverMap(session)
        })

    /// Redis's `HELLO` reply: a map in RESP3, the flat array of its keys and values in RESP2.
    static func serverMap(_ session: Session) -> Reply {
        .map([
            .init("server", .bulk("heapd")),
            .init("version", .bulk(ServerCommands.version)),
            .init("proto", .integer(Int64(session.protocolVersion.rawValue))),
            .init("id", .integer(Int64(session.id))),
            .init("mode", .bulk("standalone")),
            .init("role", .bulk("master")),
            .init("modules", .array([])),
        ])
    }
}
