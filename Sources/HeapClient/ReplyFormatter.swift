import HeapProtocol

/// Renders replies for people and scripts, byte-for-byte like `redis-cli` so that heapd feels familiar and
/// existing habits (and shell pipelines) carry over.
///
/// - `human(_:)` matches `redis-cli` on a terminal.
/// - `raw(_:)` matches `redis-cli` when its output is not a terminal (or with `--raw`).
/// - `json(_:)` is for machine consumption and has no `redis-cli` equivalent to match.
///
/// The returned strings have no trailing newline (except where `redis-cli` itself prints a blank line
/// after a raw error); print them with `print`.
public enum ReplyFormatter {
    /// Formats `reply` the way `redis-cli` does on a terminal: `(integer) 3`, `"quoted"` bulk strings,
    /// `(nil)`, `(error) CODE message`, and numbered, indented arrays.
    public static func human(_ reply: Reply) -> String {
        var output = ""
        appendHuman(reply, prefix: "", to: &output)
        // redis-cli terminates every element with a newline; the caller's `print` supplies the last one.
        output.removeLast()
        return output
    }

    /// Mirrors `cliFormatReplyTTY` in redis-cli: each element ends with `\n`, and nested arrays continue on
    /// the same line as their index, with later lines indented by `prefix`.
    private static func appendHuman(_ reply: Reply, prefix: String, to output: inout String) {
        switch reply {
        case .simple(let text):
            output += text + "\n"
        case .error(let code, let message):
            output += "(error) " + errorLine(code: code, message: message) + "\n"
        case .integer(let value):
            output += "(integer) \(value)\n"
        case .bulk(let bytes):
            output += quoted(bytes) + "\n"
        case .null, .nullArray:
            output += "(nil)\n"
        case .double(let value):
            output += "(double) \(Reply.doubleText(value))\n"
        case .boolean(let value):
            output += value ? "(true)\n" : "(false)\n"
        case .array(let elements) where elements.isEmpty, .push(let elements) where elements.isEmpty:
            output += "(empty array)\n"
        case .set(let elements) where elements.isEmpty:
            output += "(empty set)\n"
        case .map(let entries) where entries.isEmpty:
            output += "(empty hash)\n"
        case .array(let elements), .push(let elements):
            appendHumanAggregate(elements.map { ($0, nil) }, marker: ")", prefix: prefix, to: &output)
        case .set(let elements):
            appendHumanAggregate(elements.map { ($0, nil) }, marker: "~", prefix: prefix, to: &output)
        case .map(let entries):
            appendHumanAggregate(entries.map { ($0.key, $0.value) }, marker: "#", prefix: prefix, to: &output)
        }
    }

    /// The numbered elements of an aggregate: `1) …` for arrays, `1~ …` for sets, `1# key => value` for
    /// maps, as redis-cli numbers them.
    private static func appendHumanAggregate(
        _ elements: [(Reply, Reply?)], marker: String, prefix: String, to output: inout String
    ) {
        let indexWidth = String(elements.count).count
        let childPrefix = prefix + String(repeating: " ", count: indexWidth + 2)
        for (offset, (element, value)) in elements.enumerated() {
            // The first element follows the parent's index on the same line, so it gets no prefix.
            if offset > 0 {
                output += prefix
            }
            let index = String(offset + 1)
            output += String(repeating: " ", count: indexWidth - index.count) + index + marker + " "
            guard let value else {
                appendHuman(element, prefix: childPrefix, to: &output)
                continue
            }
            var key = ""
            appendHuman(element, prefix: childPrefix, to: &key)
            output += key.dropLast() + " => "
            appendHuman(value, prefix: childPrefix, to: &output)
        }
    }

    /// The text of an error as Redis puts it on the wire: the code, a space, then the message.
    static func errorLine(code: String, message: String) -> String {
        message.isEmpty ? code : code + " " + message
    }

    /// Quotes `bytes` like redis-cli's `sdscatrepr`: printable ASCII as is, `\\`, `\"`, `\n`, `\r`, `\t`,
    /// `\a`, `\b` escaped, and every other byte (including UTF-8) as `\xhh`.
    static func quoted(_ bytes: [UInt8]) -> String {
        var result: [UInt8] = [UInt8(ascii: "\"")]
        let hexDigits = Array("0123456789abcdef".utf8)
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\\"), UInt8(ascii: "\""):
                result += [UInt8(ascii: "\\"), byte]
            case UInt8(ascii: "\n"): result += Array("\\n".utf8)
            case UInt8(ascii: "\r"): result += Array("\\r".utf8)
            case UInt8(ascii: "\t"): result += Array("\\t".utf8)
            case 0x07: result += Array("\\a".utf8)
            case 0x08: result += Array("\\b".utf8)
            case 0x20..<0x7F: result.append(byte)
            default:
                result += [
                    UInt8(ascii: "\\"), UInt8(ascii: "x"), hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xF)],
                ]
            }
        }
        result.append(UInt8(ascii: "\""))
        return String(decoding: result, as: UTF8.self)
    }
}
