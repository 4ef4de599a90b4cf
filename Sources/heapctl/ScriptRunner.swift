import Glibc
import HeapClient
import HeapProtocol

/// Runs a script for `heapctl run`: each command line over one connection, echoed with its line number and
/// followed by its reply, stopping at the first error reply unless told to keep going.
///
/// The transcript format is documented in `RunCommand`'s help, which is where users look for it.
struct ScriptRunner {
    /// The script's name in messages: its path, or `<stdin>`.
    let name: String
    let reader: LineReader
    let endpoint: Endpoint
    /// `.human` (the default) or `.raw` print a transcript; `.json` prints one object per command.
    let mode: OutputMode
    let keepGoing: Bool
    /// Whether comment and blank lines are echoed too, turning a commented script into a narrated
    /// transcript (used by the examples tour).
    let echoComments: Bool
    /// No transcript: only errors, and what the instruments print at the end.
    var quiet = false
    /// What `--trace`, `--profile` and `--plot` measure around the script.
    var instruments: ScriptInstruments?

    func run() -> ExitStatus {
        guard let connection = endpoint.connectOrReport() else { return .connectionFailed }
        defer { connection.close() }
        if let instruments {
            do throws(ClientError) {
                try instruments.begin(connection)
            } catch {
                Console.error("\(name): \(error)")
                return .connectionFailed
            }
        }
        let (status, subscribed) = runLines(connection)
        guard let instruments, status != .connectionFailed, !subscribed else { return status }
        do throws(ClientError) {
            let complete = try instruments.finish(connection)
            return complete || status != .success ? status : .errorReply
        } catch {
            Console.error("\(name): \(error)")
            return .connectionFailed
        }
    }

    /// Runs the script's lines; also says whether it ended subscribed to events (after which the
    /// connection takes no more commands).
    private func runLines(_ connection: HeapConnection) -> (ExitStatus, subscribed: Bool) {
        let renderer = ReplyRenderer(mode: mode)
        var lineNumber = 0
        var commandCount = 0
        var failedLines: [Int] = []
        reading: while let line = reader.next() {
            lineNumber += 1
            instruments?.noteLine(lineNumber, line)
            let command: InlineCommand
            switch InlineCommand.classify(line) {
            case .blank, .comment:
                if echoComments && mode != .json {
                    Console.write(line + [UInt8(ascii: "\n")])
                }
                continue reading
            case .command(let found):
                command = found
            }
            if command.isQuit {
                break reading
            }
            commandCount += 1
            let reply: Reply
            do throws(ClientError) {
                // Each line is attributed to FILE:LINE, so tracemalloc traces its allocations there.
                try connection.sendRaw(command.wire(at: "\(name):\(lineNumber)"))
                reply = try connection.readReply()
                try instruments?.sample(after: lineNumber, connection)
            } catch {
                Console.error("\(name):\(lineNumber): \(error)")
                return (.connectionFailed, false)
            }
            if !quiet || reply.isError {
                report(reply, of: command, at: lineNumber, renderer: renderer)
            }
            guard case .error(let code, let message) = reply else {
                if EventStream.subscribes(command.leadingWords) {
                    return (EventStream.follow(connection, renderer: renderer), true)
                }
                continue reading
            }
            failedLines.append(lineNumber)
            if !keepGoing {
                Console.error(
                    "\(name):\(lineNumber): \(command.text): \(code) \(message) "
                        + "(stopped here; --keep-going runs the remaining lines)")
                return (.errorReply, false)
            }
        }
        if let readError = reader.readError {
            Console.error("cannot read \(name): \(String(cString: strerror(readError)))")
            return (.noInput, false)
        }
        guard failedLines.isEmpty else {
            let lines = failedLines.map(String.init).joined(separator: ", ")
            let noun = failedLines.count == 1 ? "line" : "lines"
            Console.error("\(name): \(failedLines.count) of \(commandCount) commands failed (\(noun) \(lines))")
            return (.errorReply, false)
        }
        return (.success, false)
    }

    /// Prints one command's entry: `N> COMMAND` and the reply, or in JSON mode
    /// `{"line":N,"command":"...","reply":...}`.
    private func report(_ reply: Reply, of command: InlineCommand, at lineNumber: Int, renderer: ReplyRenderer) {
        let rendered = renderer.render(reply, command: command.name)
        if mode == .json {
            let head = "{\"line\":\(lineNumber),\"command\":\(JSONText.quoted(command.text)),\"reply\":"
            // The rendered reply ends with a newline; the object's closing brace goes before it.
            Console.write(Array(head.utf8) + rendered.dropLast() + Array("}\n".utf8))
        } else {
            Console.write(Array("\(lineNumber)> ".utf8) + command.bytes + [UInt8(ascii: "\n")] + rendered)
        }
    }
}

extension Reply {
    /// Whether this is an error reply.
    var isError: Bool {
        if case .error = self { return true }
        return false
    }
}
