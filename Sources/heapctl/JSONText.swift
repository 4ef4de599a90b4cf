/// JSON string literals for the text heapctl adds around replies (the `command` of `run --json`).
///
/// Replies are already JSON from `ReplyFormatter.json`; only a string field needs quoting here, and a
/// dozen lines are simpler than routing one string through `JSONEncoder`.
enum JSONText {
    /// `text` as a quoted JSON string: `"` and `\` escaped, control characters as `\uXXXX`.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\u{0}"..."\u{1F}", "\u{7F}":
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
