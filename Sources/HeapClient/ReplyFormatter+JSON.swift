import HeapProtocol

extension ReplyFormatter {
    /// Formats `reply` as one compact JSON value, for scripts that want structure instead of text.
    ///
    /// Integers become numbers, bulk and simple strings become strings, nulls become `null`, arrays become
    /// arrays, and errors become `{"error":"CODE","message":"..."}` so they cannot be confused with data.
    /// Bulk strings are binary, so each byte that is not part of valid UTF-8 is written as `\u00XX` (its
    /// Latin-1 reading) rather than failing; valid UTF-8 is kept as is.
    public static func json(_ reply: Reply) -> String {
        var output: [UInt8] = []
        appendJSON(reply, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    private static func appendJSON(_ reply: Reply, to output: inout [UInt8]) {
        switch reply {
        case .simple(let text):
            JSONString.append(Array(text.utf8), to: &output)
        case .error(let code, let message):
            output += Array(#"{"error":"#.utf8)
            JSONString.append(Array(code.utf8), to: &output)
            output += Array(#","message":"#.utf8)
            JSONString.append(Array(message.utf8), to: &output)
            output.append(UInt8(ascii: "}"))
        case .integer(let value):
            output += Array(String(value).utf8)
        case .bulk(let bytes):
            JSONString.append(bytes, to: &output)
        case .null, .nullArray:
            output += Array("null".utf8)
        case .double(let value):
            // JSON has no infinity or NaN: those are strings.
            if value.isFinite {
                output += Array(Reply.doubleText(value).utf8)
            } else {
                JSONString.append(Array(Reply.doubleText(value).utf8), to: &output)
            }
        case .boolean(let value):
            output += Array((value ? "true" : "false").utf8)
        case .map(let entries):
            output.append(UInt8(ascii: "{"))
            for (offset, entry) in entries.enumerated() {
                if offset > 0 {
                    output.append(UInt8(ascii: ","))
                }
                // JSON keys are strings: a key that is not one is written as its JSON text.
                switch entry.key {
                case .bulk(let bytes): JSONString.append(bytes, to: &output)
                case .simple(let text): JSONString.append(Array(text.utf8), to: &output)
                default: JSONString.append(Array(json(entry.key).utf8), to: &output)
                }
                output.append(UInt8(ascii: ":"))
                appendJSON(entry.value, to: &output)
            }
            output.append(UInt8(ascii: "}"))
        case .array(let elements), .set(let elements), .push(let elements):
            output.append(UInt8(ascii: "["))
            for (offset, element) in elements.enumerated() {
                if offset > 0 {
                    output.append(UInt8(ascii: ","))
                }
                appendJSON(element, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        }
    }
}
