import Glibc
import HeapClient
import HeapProtocol

/// `heapctl < FILE` and `producer | heapctl`: the commands on stdin's lines, run over one connection (so
/// variables carry from line to line), printing only the replies.
///
/// This mirrors `redis-cli < FILE`: every line runs even after an error reply, and the exit status is 1
/// if any reply was an error. After `GC SUBSCRIBE` only events are printed (see `EventStream`). Scripts that should stop at the first mistake and say where it was are what
/// `heapctl run` is for.
struct PipedSession {
    let endpoint: Endpoint
    let renderer: ReplyRenderer

    func run() -> ExitStatus {
        guard let connection = endpoint.connectOrReport() else { return .connectionFailed }
        defer { connection.close() }
        let reader = LineReader(descriptor: STDIN_FILENO)
        var lineNumber = 0
        var anyFailed = false
        while let line = reader.next() {
            lineNumber += 1
            if let opening = RepeatBlock.opening(line) {
                switch runBlock(opening, at: lineNumber, reader: reader, lineNumber: &lineNumber, connection) {
                case .some(true): anyFailed = true
                case .some(false): break
                case nil: return .connectionFailed
                }
                continue
            }
            if ScriptRunner.isEnd(line) {
                Console.error("stdin line \(lineNumber): END without REPEAT")
                anyFailed = true
                continue
            }
            guard case .command(let command) = InlineCommand.classify(line) else {
                continue
            }
            if command.isQuit {
                break
            }
            let reply: Reply
            do throws(ClientError) {
                reply = try connection.call(command)
            } catch {
                Console.error("stdin line \(lineNumber): \(error)")
                return .connectionFailed
            }
            Console.write(
                renderer.render(reply, command: command.name, subcommand: command.leadingWords.dropFirst().first))
            if case .error = reply {
                anyFailed = true
            } else if EventStream.subscribes(command.leadingWords) {
                return EventStream.follow(connection, renderer: renderer)
            }
        }
        if let readError = reader.readError {
            Console.error("cannot read stdin: \(String(cString: strerror(readError)))")
            return .noInput
        }
        return anyFailed ? .errorReply : .success
    }

    /// Reads a `REPEAT` block's lines up to its `END` and runs it: whether anything failed (a mistake in
    /// the block is reported and counts as a failure, as an error reply does), or nil when the
    /// connection broke.
    private func runBlock(
        _ opening: Result<RepeatBlock, RepeatError>, at start: Int, reader: LineReader, lineNumber: inout Int,
        _ connection: HeapConnection
    ) -> Bool? {
        guard case .success(var block) = opening else {
            if case .failure(let mistake) = opening { Console.error("stdin line \(start): \(mistake)") }
            return true
        }
        while true {
            guard let inner = reader.next() else {
                Console.error("stdin line \(start): REPEAT without END")
                return true
            }
            lineNumber += 1
            do throws(RepeatError) {
                if try block.add(inner) { break }
            } catch {
                Console.error("stdin line \(lineNumber): \(error)")
                return true
            }
        }
        do throws(ClientError) {
            return try block.run(connection, renderer: renderer)
        } catch {
            Console.error("stdin lines \(start)-\(lineNumber): \(error)")
            return nil
        }
    }
}
