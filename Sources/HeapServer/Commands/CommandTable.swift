import HeapCore
import HeapProtocol

/// Every command the server accepts, by upper-case name; protocol.md documents each one.
enum CommandTable {
    static let all: [CommandSpec] =
        ServerCommands.specs + ObjectCommands.specs + ContainerCommands.specs + IntrospectionCommands.specs
        + GCCommands.specs + DiagnosticCommands.specs
        + GeneratorCommands.specs

    static let byName: [String: CommandSpec] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// Executes one request in `session` and returns its reply; never throws, never traps on input.
    static func execute(_ request: Request, in session: Session) -> Reply {
        guard let first = request.arguments.first else { return .error(code: "SYNTAX", message: "empty request") }
        var name = upperName(first)
        var rest = request.arguments.dropFirst()
        // Two-word commands (`GC COLLECT`, `SCOPE PUSH`, `DEBUG VERIFY`) are looked up as one name.
        if let second = rest.first, byName[name] == nil || subcommandGroups.contains(name) {
            let combined = name + " " + upperName(second)
            if byName[combined] != nil {
                name = combined
                rest = rest.dropFirst()
            } else if subcommandGroups.contains(name) {
                return CommandError.unknown(combined).reply
            }
        }
        guard let spec = byName[name] else {
            if subcommandGroups.contains(name) { return CommandError.arity(name).reply }
            return CommandError.unknown(name).reply
        }
        if session.subscribed && !allowedWhileSubscribed.contains(name) {
            return .error(
                code: "SUBSCRIBED", message: "only PING, QUIT and GC UNSUBSCRIBE are allowed while subscribed")
        }
        let arguments = Arguments(rest)
        guard spec.arity.contains(arguments.count) else { return CommandError.arity(spec.name).reply }
        session.commandsProcessed += 1
        do {
            return try spec.handler(session, arguments)
        } catch {
            return error.reply
        }
    }

    static let allowedWhileSubscribed: Set<String> = ["PING", "QUIT", "GC UNSUBSCRIBE", "GC SUBSCRIBE"]

    /// A command word in upper case; most clients send it so already, which costs no conversion.
    @inline(__always)
    static func upperName(_ bytes: [UInt8]) -> String {
        if bytes.contains(where: { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") }) {
            return String(decoding: bytes, as: UTF8.self).uppercased()
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// First words that only exist with a second word.
    static let subcommandGroups: Set<String> = ["SCOPE", "DEBUG", "GC"]
}
