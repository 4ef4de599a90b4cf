import HeapClient
import HeapProtocol

extension HeapConnection {
    /// Sends `command` as an inline request and waits for its reply.
    func call(_ command: InlineCommand) throws(ClientError) -> Reply {
        try sendRaw(command.wire)
        return try readReply()
    }
}
