import ArgumentParser
import HeapClient
import HeapProtocol

/// heapctl's views over heapd's leak-finding commands: `types`, `growth`, `chain`, `graph`, `top`,
/// `doctor`, each the lower-case first word of the command line (`heapctl types --limit 10`).
///
/// Like `run`, they are parsed on their own rather than as ArgumentParser subcommands, because heapctl
/// hands every other word to heapd unparsed. Only the lower-case words select a view: `heapctl TYPES`
/// still sends heapd's `TYPES` and prints its raw reply, and `heapctl -- types` does too.
protocol LeakView: ParsableCommand {
    var connection: ConnectionOptions { get }

    /// Asks heapd and prints the view; a failure was already reported when it is thrown.
    func show(using client: ViewClient) throws(ViewFailure)
}

enum LeakViews {
    /// The view a first word selects.
    static func view(named word: String) -> (any LeakView.Type)? {
        switch word {
        case "types": TypesView.self
        case "growth": GrowthView.self
        case "chain": ChainView.self
        case "graph": GraphView.self
        case "top": TopView.self
        case "doctor": DoctorView.self
        case "record": RecordView.self
        default: nil
        }
    }

    /// Runs the view `command` starts with, or returns nil when its first word names none.
    static func run(_ command: [String], inheriting global: ConnectionOptions) -> ExitStatus? {
        guard let word = command.first, let type = view(named: word) else { return nil }
        return run(type, Array(command.dropFirst()), inheriting: global)
    }

    private static func run(_ type: any LeakView.Type, _ arguments: [String], inheriting global: ConnectionOptions)
        -> ExitStatus
    {
        let view: any LeakView
        do {
            view = try type.parse(arguments)
        } catch {
            type.exitBriefly(withError: error, helpCommand: type.configuration.commandName ?? "heapctl")
        }
        guard let connection = global.overridden(by: view.connection).connectOrReport() else {
            return .connectionFailed
        }
        defer { connection.close() }
        do throws(ViewFailure) {
            try view.show(using: ViewClient(connection: connection))
            return .success
        } catch {
            return error.status
        }
    }
}

/// A view's failure, already reported on stderr: the exit status it ends heapctl with.
struct ViewFailure: Error {
    let status: ExitStatus
}

/// The connection a view asks heapd over: every failure is reported on stderr once, here.
struct ViewClient {
    let connection: HeapConnection

    /// heapd's reply to `arguments`; an error reply or a broken connection is reported and thrown.
    func call(_ arguments: [String]) throws(ViewFailure) -> Reply {
        let reply: Reply
        do throws(ClientError) {
            reply = try connection.call(arguments)
        } catch {
            Console.error(error.description)
            throw ViewFailure(status: .connectionFailed)
        }
        if case .error(let code, let message) = reply {
            Console.error("\(arguments.joined(separator: " ")): \(code) \(message)")
            throw ViewFailure(status: .errorReply)
        }
        return reply
    }

    /// Reports a reply whose shape is not what the view expects (a heapd of another version).
    static func unexpected(_ command: String, _ reply: Reply) -> ViewFailure {
        Console.error("unexpected reply to \(command): \(ReplyFormatter.human(reply))")
        return ViewFailure(status: .errorReply)
    }
}

extension Reply {
    /// The items of an array reply.
    var items: [Reply]? {
        if case .array(let items) = self { return items }
        return nil
    }

    /// A bulk or simple string as text.
    var text: String? {
        switch self {
        case .bulk(let bytes): String(decoding: bytes, as: UTF8.self)
        case .simple(let text): text
        default: nil
        }
    }

    var int: Int? {
        if case .integer(let value) = self { return Int(value) }
        return nil
    }
}
