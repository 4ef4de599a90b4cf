/// Encodes arbitrary bytes as a JSON string literal that is always valid JSON and valid UTF-8.
///
/// Heap values are binary, so the encoder cannot assume UTF-8: well-formed UTF-8 sequences are copied
/// through, and any byte that does not belong to one is written as `\u00XX`.
enum JSONString {
    /// Appends `bytes` as a quoted JSON string to `output`.
    static func append(_ bytes: [UInt8], to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte >= 0x80 {
                let length = validSequenceLength(bytes, at: index)
                if length > 0 {
                    output += bytes[index..<index + length]
                    index += length
                } else {
                    appendUnicodeEscape(byte, to: &output)
                    index += 1
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): output += Array(#"\""#.utf8)
            case UInt8(ascii: "\\"): output += Array(#"\\"#.utf8)
            case UInt8(ascii: "\n"): output += Array(#"\n"#.utf8)
            case UInt8(ascii: "\r"): output += Array(#"\r"#.utf8)
            case UInt8(ascii: "\t"): output += Array(#"\t"#.utf8)
            case 0x08: output += Array(#"\b"#.utf8)
            case 0x0C: output += Array(#"\f"#.utf8)
            case 0x00..<0x20, 0x7F: appendUnicodeEscape(byte, to: &output)
            default: output.append(byte)
            }
            index += 1
        }
        output.append(UInt8(ascii: "\""))
    }

    private static func appendUnicodeEscape(_ byte: UInt8, to output: inout [UInt8]) {
        let hexDigits = Array("0123456789abcdef".utf8)
        output += Array(#"\u00"#.utf8)
        output.append(hexDigits[Int(byte >> 4)])
        output.append(hexDigits[Int(byte & 0xF)])
    }

    /// Length of the well-formed UTF-8 sequence starting at `start` (a byte >= 0x80), or 0 if there is none.
    ///
    /// Follows the Unicode well-formedness table: no overlong forms, no surrogates, nothing above U+10FFFF.
    private static func validSequenceLength(_ bytes: [UInt8], at start: Int) -> Int {
        let lead = bytes[start]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        default: return 0
        }
        guard start + length <= bytes.count, secondRange.contains(bytes[start + 1]) else {
            return 0
        }
        for offset in 2..<length where !(0x80...0xBF).contains(bytes[start + offset]) {
            return 0
        }
        return length
    }
}
