extension Reply {
    /// Appends this reply in the wire form of `version` (RESP2 unless the connection said `HELLO 3`).
    ///
    /// Simple strings and errors are line-based on the wire, so any `\r` or `\n` in them is replaced by a
    /// space: a message quoting user input must never be able to inject a second reply. In RESP2 the
    /// RESP3 types take their RESP2 forms (``Reply``), so the bytes of a RESP2 connection do not depend
    /// on whether a command chose, say, a map.
    public func encode(into buffer: inout [UInt8], version: ProtocolVersion = .resp2) {
        switch self {
        case .simple(let text):
            buffer.append(ASCII.plus)
            buffer.appendLineSafe(text)
        case .error(let code, let message):
            buffer.append(ASCII.minus)
            buffer.appendLineSafe(code)
            if !message.isEmpty {
                if !code.isEmpty {
                    buffer.append(ASCII.space)
                }
                buffer.appendLineSafe(message)
            }
        case .integer(let value):
            buffer.append(ASCII.colon)
            buffer.appendDecimal(value)
        case .bulk(let bytes):
            buffer.append(ASCII.dollar)
            buffer.appendDecimal(bytes.count)
            buffer.appendCRLF()
            buffer.append(contentsOf: bytes)
        case .null:
            if version == .resp3 {
                buffer.append(ASCII.underscore)
            } else {
                buffer.append(contentsOf: [ASCII.dollar, ASCII.minus, UInt8(ascii: "1")])
            }
        case .array(let elements):
            Self.encodeAggregate(ASCII.asterisk, elements, into: &buffer, version: version)
            // Each element already ended its own line.
            return
        case .nullArray:
            if version == .resp3 {
                buffer.append(ASCII.underscore)
            } else {
                buffer.append(contentsOf: [ASCII.asterisk, ASCII.minus, UInt8(ascii: "1")])
            }
        case .map(let entries):
            buffer.append(version == .resp3 ? ASCII.percent : ASCII.asterisk)
            buffer.appendDecimal(version == .resp3 ? entries.count : 2 * entries.count)
            buffer.appendCRLF()
            for entry in entries {
                entry.key.encode(into: &buffer, version: version)
                entry.value.encode(into: &buffer, version: version)
            }
            return
        case .set(let elements):
            Self.encodeAggregate(
                version == .resp3 ? ASCII.tilde : ASCII.asterisk, elements, into: &buffer, version: version)
            return
        case .push(let elements):
            Self.encodeAggregate(
                version == .resp3 ? ASCII.greaterThan : ASCII.asterisk, elements, into: &buffer, version: version)
            return
        case .double(let value):
            let text = Self.doubleText(value)
            if version == .resp3 {
                buffer.append(ASCII.comma)
            } else {
                buffer.append(ASCII.dollar)
                buffer.appendDecimal(text.utf8.count)
                buffer.appendCRLF()
            }
            buffer.append(contentsOf: text.utf8)
        case .boolean(let value):
            if version == .resp3 {
                buffer.append(contentsOf: [ASCII.hash, value ? UInt8(ascii: "t") : UInt8(ascii: "f")])
            } else {
                buffer.append(contentsOf: [ASCII.colon, value ? UInt8(ascii: "1") : UInt8(ascii: "0")])
            }
        }
        buffer.appendCRLF()
    }

    /// A header (`*3`, `~3`, `>3`) and its elements.
    private static func encodeAggregate(
        _ marker: UInt8, _ elements: [Reply], into buffer: inout [UInt8], version: ProtocolVersion
    ) {
        buffer.append(marker)
        buffer.appendDecimal(elements.count)
        buffer.appendCRLF()
        for element in elements {
            element.encode(into: &buffer, version: version)
        }
    }

    /// A double as RESP3 writes it (and RESP2's bulk string of it): Swift's shortest round-tripping
    /// text (`2.5`, `1e-05`), and `inf`, `-inf`, `nan` as the RESP3 specification spells them.
    public static func doubleText(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        return value.description
    }

    /// This reply in the wire form of `version`.
    public func encoded(_ version: ProtocolVersion) -> [UInt8] {
        var buffer: [UInt8] = []
        encode(into: &buffer, version: version)
        return buffer
    }

    /// This reply in RESP2 wire form.
    public var encoded: [UInt8] { encoded(.resp2) }
}

extension Array where Element == UInt8 {
    /// Appends the UTF-8 of `text` with line terminators turned into spaces.
    fileprivate mutating func appendLineSafe(_ text: String) {
        for byte in text.utf8 {
            append(byte == ASCII.carriageReturn || byte == ASCII.newline ? ASCII.space : byte)
        }
    }
}
