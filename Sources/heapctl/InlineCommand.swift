/// One line of text, typed at the prompt or read from a script, that heapctl sends to heapd as an inline
/// request.
///
/// heapctl never splits such a line into arguments itself: it sends the bytes with a `\n` and lets heapd's
/// own tokenizer read them, so quoting (`"a b"`, `'x'`, `"\x00"`) means exactly what it means when the same
/// line is sent by `nc` or `redis-cli`, and there is only one implementation of those rules to get right.
/// The client only has to know which lines must not be sent: heapd answers a blank line with nothing at
/// all, so sending one would leave heapctl waiting for a reply forever.
struct InlineCommand {
    /// What a line of input is.
    enum Line {
        /// Only spaces and tabs (heapd's separators), or nothing: heapd would ignore it without a reply.
        case blank
        /// A line whose first non-blank character is `#`. Comments take whole lines only; a `#` after a
        /// command is an ordinary argument, because telling it apart from a quoted `#` needs the tokenizer.
        case comment
        /// A command to send.
        case command(InlineCommand)
    }

    /// The line without its terminator.
    let bytes: [UInt8]

    /// Sorts `line` (without its terminator) into blank, comment or command.
    static func classify(_ line: [UInt8]) -> Line {
        guard let first = line.first(where: { !isBlank($0) }) else {
            return .blank
        }
        return first == UInt8(ascii: "#") ? .comment : .command(InlineCommand(bytes: line))
    }

    /// The line as text, for echoing and messages (invalid UTF-8 shows as U+FFFD).
    var text: String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// The first word in upper case (quotes are not interpreted), for the few decisions heapctl makes by
    /// command name, such as printing `INFO` as prose.
    var name: String {
        leadingWords.first ?? ""
    }

    /// The first two words in upper case, enough to recognize two-word commands like `GC SUBSCRIBE`.
    var leadingWords: [String] {
        bytes.split(whereSeparator: Self.isBlank).prefix(2).map { String(decoding: $0, as: UTF8.self).uppercased() }
    }

    /// Whether the line is `quit` or `exit`, which end a session on the client side like in `redis-cli`
    /// (closing the connection releases the session's variables just as heapd's `QUIT` would).
    var isQuit: Bool {
        let trimmed = bytes.drop(while: Self.isBlank).reversed().drop(while: Self.isBlank).reversed()
        let word = String(decoding: trimmed, as: UTF8.self).lowercased()
        return word == "quit" || word == "exit"
    }

    /// The bytes to send: the line and `\r\n`.
    ///
    /// `\r\n` rather than `\n` because heapd drops one `\r` before the newline: with only `\n`, a line that
    /// itself ends in `\r` would lose it and might become blank, leaving heapctl waiting for a reply that
    /// never comes. A line starting with `*` is sent after a space, because heapd takes a leading `*` as the
    /// start of a binary RESP request; its tokenizer skips the space, so the command still means what was
    /// written.
    var wire: [UInt8] {
        var request: [UInt8] = []
        if bytes.first == UInt8(ascii: "*") {
            request.append(UInt8(ascii: " "))
        }
        request += bytes
        request += [UInt8(ascii: "\r"), UInt8(ascii: "\n")]
        return request
    }

    /// The bytes to send with the line attributed to `position` (`file:line`): `AT 'file:line' line`,
    /// so heapd's tracemalloc traces the line's allocations to it.
    func wire(at position: String) -> [UInt8] {
        var request: [UInt8] = Array("AT ".utf8)
        if position.contains("'") {
            // Double quotes, with the two characters that need it escaped.
            request.append(UInt8(ascii: "\""))
            for byte in position.utf8 {
                if byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") { request.append(UInt8(ascii: "\\")) }
                request.append(byte)
            }
            request += Array("\" ".utf8)
        } else {
            request += Array(("'" + position + "' ").utf8)
        }
        return request + wire
    }

    /// heapd's argument separators.
    static func isBlank(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
    }
}
