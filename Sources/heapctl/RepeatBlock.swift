import HeapClient
import HeapProtocol

/// `REPEAT n` … `END` where a person types or pipes commands (the prompt, `heapctl < FILE`), as in
/// scripts (`heapctl run`, see ``ScriptRunner``): the lines between run n times over the same
/// connection. examples/README promises `heapctl < examples/leak.heap` works, and the example loops.
///
/// As in a script, the replies of the first pass are printed and later passes print only their errors,
/// so a loop of 500 requests does not scroll 2,000 replies past.
struct RepeatBlock {
    let count: Int
    /// The block's lines (blank and comment lines included; they are skipped when run).
    var lines: [[UInt8]] = []

    /// What a line that may open a block says: nil when it is no `REPEAT`; else the block to fill, or
    /// the error to report.
    static func opening(_ line: [UInt8]) -> Result<RepeatBlock, RepeatError>? {
        guard let count = ScriptRunner.repeatCount(line) else { return nil }
        guard let count, count >= 1, count <= ScriptRunner.maxRepeat else {
            return .failure(RepeatError("REPEAT takes a count from 1 to \(ScriptRunner.maxRepeat)"))
        }
        return .success(RepeatBlock(count: count))
    }

    /// Adds a line read inside the block: true once it was the `END` that closes it.
    mutating func add(_ line: [UInt8]) throws(RepeatError) -> Bool {
        if ScriptRunner.isEnd(line) { return true }
        if ScriptRunner.repeatCount(line) != nil { throw RepeatError("REPEAT blocks do not nest") }
        lines.append(line)
        return false
    }

    /// Runs the block; returns whether any reply was an error. A broken connection is thrown.
    func run(_ connection: HeapConnection, renderer: ReplyRenderer) throws(ClientError) -> Bool {
        var anyFailed = false
        for round in 0..<count {
            for line in lines {
                guard case .command(let command) = InlineCommand.classify(line), !command.isQuit else { continue }
                let reply = try connection.call(command)
                let failed: Bool
                if case .error = reply { failed = true } else { failed = false }
                anyFailed = anyFailed || failed
                if round == 0 || failed { Console.write(renderer.render(reply, command: command.name)) }
            }
        }
        return anyFailed
    }
}

/// A `REPEAT` block written wrong: what to tell the person.
struct RepeatError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
