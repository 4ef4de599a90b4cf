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
            Console.write(renderer.render(reply, command: command.name))
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
}
