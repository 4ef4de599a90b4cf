/// Splits one inline request line into arguments, following the quoting rules of Redis's `sdssplitargs` so
/// that anything typed at `redis-cli` or sent with `nc` behaves the same against heapd.
///
/// - Arguments are separated by runs of spaces and tabs.
/// - `"..."` allows the escapes `\"` `\\` `\n` `\r` `\t` `\a` `\b` and `\xHH`; any other escape is rejected
///   (stricter than Redis, which silently keeps the character) so typos do not store surprising values.
/// - `'...'` is literal except for `\'`.
/// - As in Redis, a quote may start in the middle of a word (`ab"c d"` is the single argument `abc d`), but a
///   closing quote must be followed by a blank or the end of the line.
enum InlineTokenizer {
    /// Returns the arguments of `line` (which excludes its line terminator).
    static func split(_ line: UnsafeRawBufferPointer, maxArguments: Int) throws(ProtocolError) -> [[UInt8]] {
        var arguments: [[UInt8]] = []
        var position = 0
        while true {
            while position < line.count && ASCII.isBlank(line[position]) {
                position += 1
            }
            if position == line.count {
                return arguments
            }
            guard arguments.count < maxArguments else {
                throw .tooManyInlineArguments(limit: maxArguments)
            }
            arguments.append(try argument(in: line, from: &position))
        }
    }

    /// Where the tokenizer is within the current argument.
    private enum Quoting {
        case none, double, single
    }

    /// Reads one argument starting at `position` (a non-blank byte) and leaves `position` just after it.
    private static func argument(
        in line: UnsafeRawBufferPointer,
        from position: inout Int
    ) throws(ProtocolError) -> [UInt8] {
        var current: [UInt8] = []
        var quoting = Quoting.none
        while true {
            guard position < line.count else {
                guard quoting == .none else {
                    throw .unbalancedQuotes
                }
                return current
            }
            let byte = line[position]
            switch quoting {
            case .none:
                if ASCII.isBlank(byte) {
                    return current
                }
                if byte == ASCII.doubleQuote {
                    quoting = .double
                } else if byte == ASCII.singleQuote {
                    quoting = .single
                } else {
                    current.append(byte)
                }
                position += 1
            case .double:
                if byte == ASCII.backslash {
                    current.append(try escape(in: line, at: &position))
                } else if byte == ASCII.doubleQuote {
                    try closeQuote(in: line, at: &position)
                    return current
                } else {
                    current.append(byte)
                    position += 1
                }
            case .single:
                if byte == ASCII.backslash && position + 1 < line.count && line[position + 1] == ASCII.singleQuote {
                    current.append(ASCII.singleQuote)
                    position += 2
                } else if byte == ASCII.singleQuote {
                    try closeQuote(in: line, at: &position)
                    return current
                } else {
                    current.append(byte)
                    position += 1
                }
            }
        }
    }

    /// Steps over a closing quote at `position`, enforcing that a blank or the line end follows it.
    private static func closeQuote(in line: UnsafeRawBufferPointer, at position: inout Int) throws(ProtocolError) {
        position += 1
        if position < line.count && !ASCII.isBlank(line[position]) {
            throw .textAfterClosingQuote
        }
    }

    /// Decodes the escape sequence starting with the backslash at `position` and steps over it.
    private static func escape(in line: UnsafeRawBufferPointer, at position: inout Int) throws(ProtocolError) -> UInt8 {
        guard position + 1 < line.count else {
            // A lone backslash before the end of the line can only mean the quote was never closed.
            throw .unbalancedQuotes
        }
        let decoded: UInt8
        switch line[position + 1] {
        case UInt8(ascii: "x"):
            guard position + 3 < line.count,
                let high = ASCII.hexValue(line[position + 2]),
                let low = ASCII.hexValue(line[position + 3])
            else {
                throw .invalidEscape
            }
            position += 4
            return high << 4 | low
        case UInt8(ascii: "n"): decoded = ASCII.newline
        case UInt8(ascii: "r"): decoded = ASCII.carriageReturn
        case UInt8(ascii: "t"): decoded = ASCII.tab
        case UInt8(ascii: "a"): decoded = 0x07
        case UInt8(ascii: "b"): decoded = 0x08
        case ASCII.doubleQuote: decoded = ASCII.doubleQuote
        case ASCII.backslash: decoded = ASCII.backslash
        default: throw .invalidEscape
        }
        position += 2
        return decoded
    }
}
