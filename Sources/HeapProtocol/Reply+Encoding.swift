extension Reply {
    /// Appends this reply in RESP2 wire form.
    ///
    /// Simple strings and errors are line-based on the wire, so any `\r` or `\n` in them is replaced by a
    /// space: a message quoting user input must never be able to inject a second reply.
    public func encode(into buffer: inout [UInt8]) {
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
            buffer.append(contentsOf: [ASCII.dollar, ASCII.minus, UInt8(ascii: "1")])
        case .array(let elements):
            buffer.append(ASCII.asterisk)
            buffer.appendDecimal(elements.count)
            buffer.appendCRLF()
            for element in elements {
                element.encode(into: &buffer)
            }
            // Each element already ended its own line.
            return
        case .nullArray:
            buffer.append(contentsOf: [ASCII.asterisk, ASCII.minus, UInt8(ascii: "1")])
        }
        buffer.appendCRLF()
    }

    /// This reply in RESP2 wire form.
    public var encoded: [UInt8] {
        var buffer: [UInt8] = []
        encode(into: &buffer)
        return buffer
    }
}

extension Array where Element == UInt8 {
    /// Appends the UTF-8 of `text` with line terminators turned into spaces.
    fileprivate mutating func appendLineSafe(_ text: String) {
        for byte in text.utf8 {
            append(byte == ASCII.carriageReturn || byte == ASCII.newline ? ASCII.space : byte)
        }
    }
}
