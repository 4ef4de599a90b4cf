/// Byte values the wire format is built from, named so parsing code reads like the grammar it implements.
enum ASCII {
    static let newline = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let asterisk = UInt8(ascii: "*")
    static let dollar = UInt8(ascii: "$")
    static let plus = UInt8(ascii: "+")
    static let minus = UInt8(ascii: "-")
    static let colon = UInt8(ascii: ":")
    // RESP3's type markers.
    static let underscore = UInt8(ascii: "_")
    static let percent = UInt8(ascii: "%")
    static let tilde = UInt8(ascii: "~")
    static let greaterThan = UInt8(ascii: ">")
    static let comma = UInt8(ascii: ",")
    static let hash = UInt8(ascii: "#")
    static let equals = UInt8(ascii: "=")
    static let exclamation = UInt8(ascii: "!")
    static let openParenthesis = UInt8(ascii: "(")
    static let pipe = UInt8(ascii: "|")
    static let doubleQuote = UInt8(ascii: "\"")
    static let singleQuote = UInt8(ascii: "'")
    static let backslash = UInt8(ascii: "\\")
    static let zero = UInt8(ascii: "0")
    static let nine = UInt8(ascii: "9")

    /// Whether `byte` separates inline arguments (a space or a tab).
    static func isBlank(_ byte: UInt8) -> Bool {
        byte == space || byte == tab
    }

    /// Whether `byte` is a decimal digit.
    static func isDigit(_ byte: UInt8) -> Bool {
        byte >= zero && byte <= nine
    }

    /// The value of a hexadecimal digit, or `nil` when `byte` is not one.
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// A human-readable rendering of one byte for error messages: the character if printable, else `\xHH`.
    static func describe(_ byte: UInt8) -> String {
        if byte >= 0x20 && byte < 0x7F {
            return String(UnicodeScalar(byte))
        }
        let digits = Array("0123456789abcdef".utf8)
        return "\\x" + String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]], as: UTF8.self)
    }
}
