import HeapProtocol

extension ReplyFormatter {
    /// Formats `reply` the way `redis-cli` does when stdout is not a terminal: values bare, one per line,
    /// so output can be piped into other tools.
    ///
    /// Matching `cliFormatReplyRaw` exactly means keeping its quirks: nulls print as nothing (an empty line),
    /// and an error is followed by its own newline, so printing it leaves a blank line. Bulk strings are not
    /// valid UTF-8 in general; this `String` form replaces bad bytes with U+FFFD, while `rawBytes(_:)` keeps
    /// them exactly, as `redis-cli` does.
    public static func raw(_ reply: Reply) -> String {
        String(decoding: rawBytes(reply), as: UTF8.self)
    }

    /// The bytes of `raw(_:)` without any UTF-8 repair, for writing binary values to stdout unchanged.
    public static func rawBytes(_ reply: Reply) -> [UInt8] {
        var output: [UInt8] = []
        appendRaw(reply, to: &output)
        return output
    }

    private static func appendRaw(_ reply: Reply, to output: inout [UInt8]) {
        switch reply {
        case .simple(let text):
            output += text.utf8
        case .error(let code, let message):
            output += errorLine(code: code, message: message).utf8
            output.append(UInt8(ascii: "\n"))
        case .integer(let value):
            output += String(value).utf8
        case .bulk(let bytes):
            output += bytes
        case .null, .nullArray:
            break
        case .double(let value):
            output += Reply.doubleText(value).utf8
        case .boolean(let value):
            output += (value ? "(true)" : "(false)").utf8
        case .map(let entries):
            for (offset, entry) in entries.enumerated() {
                if offset > 0 {
                    output.append(UInt8(ascii: "\n"))
                }
                appendRaw(entry.key, to: &output)
                output.append(UInt8(ascii: "\n"))
                appendRaw(entry.value, to: &output)
            }
        case .array(let elements), .set(let elements), .push(let elements):
            for (offset, element) in elements.enumerated() {
                if offset > 0 {
                    output.append(UInt8(ascii: "\n"))
                }
                appendRaw(element, to: &output)
            }
        }
    }
}
