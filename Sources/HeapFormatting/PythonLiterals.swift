/// Python's `repr` of its atoms (float, str, bytes): the literals heapd's `REPR` writes, and what
/// `heapctl inspect --graph` writes for an image's objects, so that a graph drawn offline reads as the
/// live one does.
public enum PythonLiteral {
    /// Python's float repr: shortest round-tripping digits, `inf`, `nan`, and a `.0` on integral values.
    public static func float(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        // Swift's description is also the shortest round-tripping form, with Python's exponent style.
        return "\(value)"
    }

    /// Python's str repr with single quotes (double quotes when the text holds a single quote only).
    public static func string(_ text: String) -> String {
        let quote: Character = text.contains("'") && !text.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where Character(scalar) == quote: out += "\\" + String(quote)
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                out += "\\x" + hex(UInt8(scalar.value))
            default: out.unicodeScalars.append(scalar)
            }
        }
        out.append(quote)
        return out
    }

    /// Python's bytes repr (`b'...'`, or `b"..."` when the shown bytes hold a single quote and no
    /// double quote, as CPython's `bytes_repr` chooses), cut after `limit` bytes with the total size noted.
    public static func bytes(_ bytes: some Collection<UInt8>, limit: Int) -> String {
        let shown = bytes.prefix(limit)
        let quote = shown.contains(UInt8(ascii: "'")) && !shown.contains(UInt8(ascii: "\"")) ? "\"" : "'"
        var out = "b" + quote
        for byte in shown {
            switch byte {
            case UInt8(ascii: "\\"): out += "\\\\"
            case UInt8(ascii: "\n"): out += "\\n"
            case UInt8(ascii: "\r"): out += "\\r"
            case UInt8(ascii: "\t"): out += "\\t"
            case _ where String(UnicodeScalar(byte)) == quote: out += "\\" + quote
            case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(byte))
            default: out += "\\x" + hex(byte)
            }
        }
        out += quote
        if bytes.count > limit { out += "... (\(bytes.count) bytes)" }
        return out
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 15)])
    }
}
