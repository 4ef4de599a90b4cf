import HeapClient
import HeapProtocol

/// `heapctl COMMAND ARG...`: one command, one reply, one exit status.
///
/// The arguments go out as a RESP multibulk request, not as an inline line: the shell has already split
/// and unquoted them, so each must reach heapd exactly as it arrived (spaces, quotes and all), which only
/// the binary-safe form guarantees. This is what `redis-cli` does too.
struct OneShot {
    let arguments: [String]
    let endpoint: Endpoint
    let renderer: ReplyRenderer

    func run() -> ExitStatus {
        let connection: HeapConnection
        let reply: Reply
        do throws(ClientError) {
            connection = try endpoint.connect()
            reply = try connection.call(arguments)
        } catch {
            endpoint.report(error)
            return .connectionFailed
        }
        defer { connection.close() }
        let name = arguments.first?.uppercased()
        let rendered = renderer.render(reply, command: name, subcommand: arguments.dropFirst().first?.uppercased())
        if name == "HELP" && renderer.mode == .human {
            HelpListing.show(String(decoding: rendered, as: UTF8.self))
        } else {
            Console.write(rendered)
        }
        if case .error(let code, _) = reply {
            if code == "UNKNOWN", let hint = CommandSuggestion.suggest(for: arguments, asking: connection, views: true)
            {
                Console.error("did you mean '\(hint)'?")
            }
            return .errorReply
        }
        if EventStream.subscribes(arguments.prefix(2).map { $0.uppercased() }) {
            return EventStream.follow(connection, renderer: renderer)
        }
        return .success
    }
}
