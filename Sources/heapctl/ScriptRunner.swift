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
    /// The progress line on stderr (``ScriptProgress``), when wanted.
    var progress: ScriptProgress?

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
        progress?.clear()
        guard let instruments, status != .connectionFailed, !subscribed else { return status }
        do throws(ClientError) {
            let complete = try instruments.finish(connection)
            return complete || status != .success ? status : .errorReply
        } catch {
            Console.error("\(name): \(error)")
            return .connectionFailed
        }
    }

    /// What running one line leads to.
    private enum Step {
        case next
        /// The script ends here with this status (an error without --keep-going, a broken connection).
        case stop(ExitStatus)
        /// The line subscribed to events; they were followed until the end, with this status.
        case subscribed(ExitStatus)
        /// `quit` or `exit`: no more lines.
        case quit
    }

    /// The largest `REPEAT` count: a typo should not keep heapd busy for hours.
    static let maxRepeat = 10_000_000

    /// Runs the script's lines; also says whether it ended subscribed to events (after which the
    /// connection takes no more commands).
    ///
    /// `REPEAT n` ... `END` (each alone on its line) runs the lines between them n times, each still
    /// attributed to its own line of the script, so a loop's lines count their runs in `--profile`
    /// and their blocks add up in `--trace`, as a Python loop's lines do.
    private func runLines(_ connection: HeapConnection) -> (ExitStatus, subscribed: Bool) {
        var context = RunContext(renderer: ReplyRenderer(mode: mode))
        var lineNumber = 0
        reading: while let line = reader.next() {
            lineNumber += 1
            instruments?.noteLine(lineNumber, line)
            var step: Step
            if let count = Self.repeatCount(line) {
                guard let count, count >= 1, count <= Self.maxRepeat else {
                    Console.error("\(name):\(lineNumber): REPEAT takes a count from 1 to \(Self.maxRepeat)")
                    return (.errorReply, false)
                }
                var block: [(Int, [UInt8])] = []
                let start = lineNumber
                while true {
                    guard let inner = reader.next() else {
                        Console.error("\(name):\(start): REPEAT without END")
                        return (.errorReply, false)
                    }
                    lineNumber += 1
                    instruments?.noteLine(lineNumber, inner)
                    if Self.isEnd(inner) { break }
                    if Self.repeatCount(inner) != nil {
                        Console.error("\(name):\(lineNumber): REPEAT blocks do not nest")
                        return (.errorReply, false)
                    }
                    block.append((lineNumber, inner))
                }
                step = .next
                looping: for round in 0..<count {
                    context.pass = (round + 1, count)
                    defer { context.pass = nil }
                    for (number, inner) in block {
                        step = execute(inner, at: number, echo: round == 0, connection, &context)
                        if case .next = step { continue }
                        break looping
                    }
                }
            } else if Self.isEnd(line) {
                Console.error("\(name):\(lineNumber): END without REPEAT")
                return (.errorReply, false)
            } else {
                step = execute(line, at: lineNumber, echo: true, connection, &context)
            }
            switch step {
            case .next: continue reading
            case .quit: break reading
            case .stop(let status): return (status, false)
            case .subscribed(let status): return (status, true)
            }
        }
        if let readError = reader.readError {
            Console.error("cannot read \(name): \(String(cString: strerror(readError)))")
            return (.noInput, false)
        }
        guard context.failedLines.isEmpty else {
            let lines = context.failedLines.map(String.init).joined(separator: ", ")
            let noun = context.failedLines.count == 1 ? "line" : "lines"
            Console.error(
                "\(name): \(context.failedLines.count) of \(context.commandCount) commands failed (\(noun) \(lines))")
            return (.errorReply, false)
        }
        return (.success, false)
    }

    /// What the lines of one run share.
    private struct RunContext {
        let renderer: ReplyRenderer
        var commandCount = 0
        /// The pass of the REPEAT block running now, and its count.
        var pass: (Int, Int)?
        var failedLines: [Int] = []
    }

    /// Sends one line (unless blank, a comment or quit) attributed to `name:number`, and reports it.
    private func execute(
        _ line: [UInt8], at number: Int, echo: Bool, _ connection: HeapConnection, _ context: inout RunContext
    ) -> Step {
        let command: InlineCommand
        switch InlineCommand.classify(line) {
        case .blank, .comment:
            if echo && echoComments && mode != .json {
                progress?.clear()
                Console.write(line + [UInt8(ascii: "\n")])
            }
            return .next
        case .command(let found):
            command = found
        }
        if command.isQuit {
            return .quit
        }
        context.commandCount += 1
        let reply: Reply
        do throws(ClientError) {
            // Each line is attributed to FILE:LINE, so tracemalloc traces its allocations there.
            try connection.sendRaw(command.wire(at: "\(name):\(number)"))
            reply = try connection.readReply()
            try instruments?.sample(after: number, connection)
        } catch {
            Console.error("\(name):\(number): \(error)")
            return .stop(.connectionFailed)
        }
        progress?.update(line: number, commands: context.commandCount, pass: context.pass)
        if !quiet || reply.isError {
            report(reply, of: command, at: number, renderer: context.renderer)
        }
        guard case .error(let code, let message) = reply else {
            if EventStream.subscribes(command.leadingWords) {
                return .subscribed(EventStream.follow(connection, renderer: context.renderer))
            }
            return .next
        }
        context.failedLines.append(number)
        progress?.clear()
        if !keepGoing {
            Console.error(
                "\(name):\(number): \(command.text): \(code) \(message) "
                    + "(stopped here; --keep-going runs the remaining lines)")
            return .stop(.errorReply)
        }
        return .next
    }

    /// `REPEAT n` alone on a line: `.some(n)`, or `.some(nil)` when the count is not a number; nil for
    /// any other line.
    static func repeatCount(_ line: [UInt8]) -> Int?? {
        let words = line.split(whereSeparator: InlineCommand.isBlank)
        guard let first = words.first, String(decoding: first, as: UTF8.self).uppercased() == "REPEAT" else {
            return nil
        }
        guard words.count == 2 else { return .some(nil) }
        return .some(Int(String(decoding: words[1], as: UTF8.self)))
    }

    /// `END` alone on a line.
    static func isEnd(_ line: [UInt8]) -> Bool {
        let words = line.split(whereSeparator: InlineCommand.isBlank)
        return words.count == 1 && String(decoding: words[0], as: UTF8.self).uppercased() == "END"
    }

    /// Prints one command's entry: `N> COMMAND` and the reply, or in JSON mode
    /// `{"line":N,"command":"...","reply":...}`.
    private func report(_ reply: Reply, of command: InlineCommand, at lineNumber: Int, renderer: ReplyRenderer) {
        let rendered = renderer.render(reply, command: command.name)
        progress?.clear()
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
