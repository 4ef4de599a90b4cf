import ArgumentParser

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

/// A JSON value built by the views' `--json` output, rendered on one line with the keys in the order
/// given (a dictionary through `JSONSerialization` would shuffle them, and people read these too).
enum JSONValue {
    case string(String)
    case int(Int)
    case bool(Bool)
    case null
    case array([JSONValue])
    /// An object's keys and values, in order (kept apart: a case holding an array of tuples of the enum
    /// itself sends the compiler into a "circular reference").
    case fields([String], [JSONValue])

    static func object(_ fields: [(String, JSONValue)]) -> JSONValue {
        .fields(fields.map(\.0), fields.map(\.1))
    }

    var text: String {
        switch self {
        case .string(let value): return JSONText.quoted(value)
        case .int(let value): return String(value)
        case .bool(let value): return value ? "true" : "false"
        case .null: return "null"
        case .array(let items): return "[" + items.map { $0.text }.joined(separator: ",") + "]"
        case .fields(let keys, let values):
            return "{" + zip(keys, values).map { JSONText.quoted($0) + ":" + $1.text }.joined(separator: ",") + "}"
        }
    }
}

/// `--json` after a view's name (`heapctl types --json`), as well as before it (`heapctl --json types`).
struct ViewOutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print the view as one line of JSON with named fields.")
    var json = false
}
