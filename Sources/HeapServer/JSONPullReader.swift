/// A pull reader of JSON text that arrives in chunks: the caller asks for the value it expects next
/// (an object's next key, an array's next element, a string, an integer) and skips what it does not
/// want. It holds one chunk at a time, so reading a file of any size costs the chunk plus what the
/// caller keeps (``TraceSnapshotFile`` keeps the traces, sharing repeated tracebacks).
///
/// Bounds, so a hostile file costs little to refuse: strings at most `maxStringBytes`, nesting at most
/// `maxDepth` while skipping. Numbers other than 64-bit integers are read only to be skipped.
struct JSONPullReader {
    /// Why the text is not the JSON the caller expected; the message names the byte offset.
    struct Malformed: Error {
        let message: String
    }

    private var chunk: [UInt8] = []
    private var position = 0
    /// Bytes consumed before the current chunk, for error messages.
    private var offset = 0
    private let refill: () -> [UInt8]?
    let maxStringBytes: Int
    let maxDepth: Int

    /// `refill` gives the next chunk, or nil at the end of the text.
    init(maxStringBytes: Int = 4096, maxDepth: Int = 64, refill: @escaping () -> [UInt8]?) {
        self.refill = refill
        self.maxStringBytes = maxStringBytes
        self.maxDepth = maxDepth
    }

    // MARK: Bytes

    /// The next byte, without consuming it; nil at the end of the text.
    private mutating func peek() -> UInt8? {
        while position == chunk.count {
            offset += chunk.count
            guard let next = refill() else { return nil }
            chunk = next
            position = 0
        }
        return chunk[position]
    }

    private mutating func advance() { position += 1 }

    private func fail(_ what: String) -> Malformed {
        Malformed(message: "\(what) at byte \(offset + position)")
    }

    /// The next byte that is not white space, not consumed.
    mutating func peekToken() -> UInt8? {
        while let byte = peek() {
            guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { return byte }
            advance()
        }
        return nil
    }

    mutating func expect(_ byte: UInt8) throws(Malformed) {
        guard peekToken() == byte else { throw fail("expected '\(Character(Unicode.Scalar(byte)))'") }
        advance()
    }

    /// Whether the text ends here (only white space left).
    mutating func atEnd() -> Bool { peekToken() == nil }

    // MARK: Containers

    /// Inside an object (after `{`): the next key, having consumed it and its `:`; nil at `}` (consumed).
    /// `first` is true for the first call after `{`.
    mutating func nextKey(first: Bool) throws(Malformed) -> String? {
        if peekToken() == UInt8(ascii: "}") {
            advance()
            return nil
        }
        if !first { try expect(UInt8(ascii: ",")) }
        let key = try string()
        try expect(UInt8(ascii: ":"))
        return key
    }

    /// Inside an array (after `[`): true when another element follows (its `,` consumed), false at `]`
    /// (consumed). `first` is true for the first call after `[`.
    mutating func nextElement(first: Bool) throws(Malformed) -> Bool {
        if peekToken() == UInt8(ascii: "]") {
            advance()
            return false
        }
        if !first { try expect(UInt8(ascii: ",")) }
        return true
    }

    // MARK: Scalars

    /// A string, its escapes decoded; longer than `maxStringBytes` is malformed.
    mutating func string() throws(Malformed) -> String {
        try expect(UInt8(ascii: "\""))
        var bytes: [UInt8] = []
        while true {
            guard let byte = peek() else { throw fail("unterminated string") }
            advance()
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: bytes, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard let escaped = peek() else { throw fail("unterminated escape") }
                advance()
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(escaped)
                case UInt8(ascii: "b"): bytes.append(0x08)
                case UInt8(ascii: "f"): bytes.append(0x0C)
                case UInt8(ascii: "n"): bytes.append(0x0A)
                case UInt8(ascii: "r"): bytes.append(0x0D)
                case UInt8(ascii: "t"): bytes.append(0x09)
                case UInt8(ascii: "u"): bytes.append(contentsOf: try unicodeEscape())
                default: throw fail("invalid escape")
                }
            case 0..<0x20:
                throw fail("control character in string")
            default:
                bytes.append(byte)
            }
            if bytes.count > maxStringBytes { throw fail("string longer than \(maxStringBytes) bytes") }
        }
    }

    /// After `\u`: the code point's UTF-8, joining a surrogate pair (a lone surrogate becomes U+FFFD).
    private mutating func unicodeEscape() throws(Malformed) -> [UInt8] {
        var value = try hex4()
        if (0xD800..<0xDC00).contains(value), peek() == UInt8(ascii: "\\") {
            advance()
            guard peek() == UInt8(ascii: "u") else { throw fail("invalid escape") }
            advance()
            let low = try hex4()
            value = (0xDC00..<0xE000).contains(low) ? 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00) : 0xFFFD
        }
        let scalar = Unicode.Scalar(value) ?? "\u{FFFD}"
        return Array(String(Character(scalar)).utf8)
    }

    private mutating func hex4() throws(Malformed) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = peek(), let digit = Character(Unicode.Scalar(byte)).hexDigitValue else {
                throw fail("invalid \\u escape")
            }
            advance()
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// A number that is a 64-bit integer; anything else (a fraction, an exponent, overflow) is malformed.
    mutating func integer() throws(Malformed) -> Int {
        guard let first = peekToken() else { throw fail("expected an integer") }
        var negative = false
        if first == UInt8(ascii: "-") {
            negative = true
            advance()
        }
        var magnitude: UInt64 = 0
        var digits = 0
        while let byte = peek(), byte >= 0x30 && byte <= 0x39 {
            advance()
            let (times, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(UInt64(byte - 0x30))
            guard !overflow1 && !overflow2 else { throw fail("integer out of range") }
            magnitude = sum
            digits += 1
        }
        guard digits > 0 else { throw fail("expected an integer") }
        if let next = peek(), next == UInt8(ascii: ".") || next == UInt8(ascii: "e") || next == UInt8(ascii: "E") {
            throw fail("expected an integer, not a fraction")
        }
        if negative {
            guard magnitude <= UInt64(Int.max) + 1 else { throw fail("integer out of range") }
            return magnitude == UInt64(Int.max) + 1 ? Int.min : -Int(magnitude)
        }
        guard magnitude <= UInt64(Int.max) else { throw fail("integer out of range") }
        return Int(magnitude)
    }

    // MARK: Skipping

    /// Skips one value of any kind (an unknown key's), at most `maxDepth` containers deep.
    mutating func skipValue() throws(Malformed) {
        var depth = 0
        repeat {
            guard let byte = peekToken() else { throw fail("unexpected end") }
            switch byte {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                advance()
                depth += 1
                if depth > maxDepth { throw fail("nested deeper than \(maxDepth)") }
                continue
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                guard depth > 0 else { throw fail("unexpected '\(Character(Unicode.Scalar(byte)))'") }
                advance()
                depth -= 1
            case UInt8(ascii: "\""):
                _ = try string()
            case UInt8(ascii: ","), UInt8(ascii: ":"):
                guard depth > 0 else { throw fail("unexpected '\(Character(Unicode.Scalar(byte)))'") }
                advance()
                continue
            default:
                try skipScalar()
            }
        } while depth > 0
    }

    /// Skips a number, `true`, `false` or `null`.
    private mutating func skipScalar() throws(Malformed) {
        var length = 0
        while let byte = peek(),
            byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".")
                || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z"))
                || (byte >= 0x30 && byte <= 0x39)
        {
            advance()
            length += 1
            if length > 64 { throw fail("value too long") }
        }
        guard length > 0 else { throw fail("unexpected character") }
    }
}
