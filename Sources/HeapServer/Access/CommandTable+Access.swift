import HeapCore
import HeapProtocol
import Logging

/// The role check before each command, and the bookkeeping of requests refused before they ran.
extension CommandTable {
    /// nil when the session's role may run `spec` with `arguments`; otherwise the `DENIED` reply, after
    /// counting and logging the refusal.
    @inline(__always)
    static func denial(of spec: CommandSpec, _ arguments: Arguments, in session: Session) -> Reply? {
        let needed = spec.role(for: arguments)
        let role = session.client.role
        guard role < needed else { return nil }
        return refuse(spec, arguments, needs: needed, has: role, in: session)
    }

    private static func refuse(
        _ spec: CommandSpec, _ arguments: Arguments, needs: ClientRole, has: ClientRole, in session: Session
    ) -> Reply {
        // `GC GARBAGE CLEAR` is named with the argument that made it need more.
        let name = needs > spec.role ? "\(spec.name) \(arguments[0].uppercased())" : spec.name
        let error = CommandError.roleRequired(name, needs: needs, has: has)
        let client = session.client
        session.state.rejections.note(code: error.code, clientID: client.id, error.message)
        if let suppressed = client.admitDenialLog(now: CycleCollector.now()) {
            var metadata: Logger.Metadata = [
                ServerLogEvent.metadataKey: "\(ServerLogEvent.commandDenied.metadataValue)",
                "client_id": "\(client.id)", "client_role": "\(has)", "command": "\(name)",
                "required_role": "\(needs)", "suppressed": "\(suppressed)",
            ]
            var who = "client \(client.id)"
            if let credentials = client.credentials {
                metadata["client_uid"] = "\(credentials.uid)"
                metadata["client_gid"] = "\(credentials.gid)"
                metadata["client_pid"] = "\(credentials.pid)"
                who += " (uid \(credentials.uid), pid \(credentials.pid))"
            }
            let more = suppressed > 0 ? "; \(suppressed) more refused since the last report" : ""
            session.state.logger.notice(
                "\(who) denied \(name): requires role \(needs), has \(has)\(more)", metadata: metadata)
        }
        return error.reply
    }

    /// A request refused before it ran (unknown command, wrong arity, not while subscribed): counted for
    /// the summary, logged at debug level.
    static func rejected(_ error: CommandError, in session: Session) -> Reply {
        session.state.rejections.note(code: error.code, clientID: session.id, error.message)
        return error.reply
    }
}
