extension Reply {
    /// Appends this reply in the wire form of `version` (RESP2 unless the connection said `HELLO 3`).
    ///
    /// Simple strings and errors are line-based on the wire, so any `\r` or `\n` in them is replaced by a
    /// space: a message quoting user input must never be able to inject a second reply. In RESP2 the
    /// RESP3 types take their RESP2 forms (``Reply``), so the bytes of a RESP2 connection do not depend
    /// on whether a command chose, say, a map.
    public func encode(into buffer: inout [UInt8], version: ProtocolVersion = .resp2) {
        let size = encodedSize(version)
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: size))
        buffer.withUnsafeMutableBytes { bytes in
            _ = encode(into: UnsafeMutableRawBufferPointer(rebasing: bytes[start...]), size: size, version: version)
        }
    }

    /// Writes this reply at the start of `destination`, which has room for `size` bytes, the reply's
    /// ``encodedSize(_:)`` (the caller has computed it to check it against its limit); returns `size`.
    ///
    /// What the server uses to encode straight into its connection's outbound buffer (NIO's
    /// `writeWithUnsafeMutableBytes`), with no array in between. The one encoder: the array form above
    /// writes through it too. Writing past `size` traps rather than writing outside the memory given.
    @discardableResult
    public func encode(into destination: UnsafeMutableRawBufferPointer, size: Int, version: ProtocolVersion) -> Int {
        precondition(destination.count >= size, "room for \(size) bytes, got \(destination.count)")
        var output = WireOutput(UnsafeMutableRawBufferPointer(rebasing: destination[..<size]))
        write(to: &output, version: version)
        precondition(output.written == size, "encodedSize said \(size) bytes, the encoding took \(output.written)")
        return size
    }

    private func write(to output: inout WireOutput, version: ProtocolVersion) {
        switch self {
        case .simple(let text):
            output.byte(ASCII.plus)
            output.lineSafe(text)
        case .error(let code, let message):
            output.byte(ASCII.minus)
            output.lineSafe(code)
            if !message.isEmpty {
                if !code.isEmpty {
                    output.byte(ASCII.space)
                }
                output.lineSafe(message)
            }
        case .integer(let value):
            output.byte(ASCII.colon)
            output.decimal(value)
        case .bulk(let bytes):
            output.byte(ASCII.dollar)
            output.decimal(Int64(bytes.count))
            output.crlf()
            output.bytes(bytes)
        case .null:
            if version == .resp3 {
                output.byte(ASCII.underscore)
            } else {
                output.byte(ASCII.dollar)
                output.byte(ASCII.minus)
                output.byte(UInt8(ascii: "1"))
            }
        case .array(let elements):
            Self.writeAggregate(ASCII.asterisk, elements, to: &output, version: version)
            // Each element already ended its own line.
            return
        case .nullArray:
            if version == .resp3 {
                output.byte(ASCII.underscore)
            } else {
                output.byte(ASCII.asterisk)
                output.byte(ASCII.minus)
                output.byte(UInt8(ascii: "1"))
            }
        case .map(let entries):
            output.byte(version == .resp3 ? ASCII.percent : ASCII.asterisk)
            output.decimal(Int64(version == .resp3 ? entries.count : 2 * entries.count))
            output.crlf()
            for entry in entries {
                entry.key.write(to: &output, version: version)
                entry.value.write(to: &output, version: version)
            }
            return
        case .set(let elements):
            Self.writeAggregate(
                version == .resp3 ? ASCII.tilde : ASCII.asterisk, elements, to: &output, version: version)
            return
        case .push(let elements):
            Self.writeAggregate(
                version == .resp3 ? ASCII.greaterThan : ASCII.asterisk, elements, to: &output, version: version)
            return
        case .double(let value):
            let text = Self.doubleText(value)
            if version == .resp3 {
                output.byte(ASCII.comma)
            } else {
                output.byte(ASCII.dollar)
                output.decimal(Int64(text.utf8.count))
                output.crlf()
            }
            output.bytes(text.utf8)
        case .boolean(let value):
            if version == .resp3 {
                output.byte(ASCII.hash)
                output.byte(value ? UInt8(ascii: "t") : UInt8(ascii: "f"))
            } else {
                output.byte(ASCII.colon)
                output.byte(value ? UInt8(ascii: "1") : UInt8(ascii: "0"))
            }
        }
        output.crlf()
    }

    /// A header (`*3`, `~3`, `>3`) and its elements.
    private static func writeAggregate(
        _ marker: UInt8, _ elements: [Reply], to output: inout WireOutput, version: ProtocolVersion
    ) {
        output.byte(marker)
        output.decimal(Int64(elements.count))
        output.crlf()
        for element in elements {
            element.write(to: &output, version: version)
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

/// The memory a reply is written into, sized beforehand by ``Reply/encodedSize(_:)``: a cursor that
/// traps instead of writing past the end.
private struct WireOutput {
    let memory: UnsafeMutableRawBufferPointer
    private(set) var written = 0

    init(_ memory: UnsafeMutableRawBufferPointer) {
        self.memory = memory
    }

    @inline(__always)
    mutating func byte(_ value: UInt8) {
        precondition(written < memory.count, "a reply wrote past its encodedSize")
        memory[written] = value
        written += 1
    }

    mutating func bytes(_ bytes: [UInt8]) {
        precondition(memory.count - written >= bytes.count, "a reply wrote past its encodedSize")
        bytes.withUnsafeBytes { source in
            guard let base = source.baseAddress, source.count > 0 else { return }
            (memory.baseAddress! + written).copyMemory(from: base, byteCount: source.count)
        }
        written += bytes.count
    }

    mutating func bytes(_ utf8: String.UTF8View) {
        for value in utf8 { byte(value) }
    }

    @inline(__always)
    mutating func crlf() {
        byte(ASCII.carriageReturn)
        byte(ASCII.newline)
    }

    /// `value` in decimal, without going through `String`.
    mutating func decimal(_ value: Int64) {
        if value < 0 {
            byte(ASCII.minus)
        }
        // The magnitude is unsigned, so even `Int64.min` converts without overflow.
        let magnitude = value.magnitude
        var divisor: UInt64 = 1
        while magnitude / divisor >= 10 { divisor *= 10 }
        repeat {
            byte(ASCII.zero + UInt8((magnitude / divisor) % 10))
            divisor /= 10
        } while divisor > 0
    }

    /// The UTF-8 of `text` with line terminators turned into spaces, in one pass over its bytes where
    /// they are (a native or small string's are contiguous). The lines of simple strings and errors are
    /// short: a loop that copies and replaces at once beat a scan followed by `memcpy` (a call that
    /// dispatches on the length) by about 70 instructions of `+PONG`'s 130, and a checked write per
    /// byte by more.
    mutating func lineSafe(_ text: String) {
        let copied = text.utf8.withContiguousStorageIfAvailable { utf8 -> Bool in
            precondition(memory.count - written >= utf8.count, "a reply wrote past its encodedSize")
            guard let destination = memory.baseAddress.map({ $0 + written }) else { return utf8.isEmpty }
            for index in 0..<utf8.count {
                let value = utf8[index]
                destination.storeBytes(
                    of: value == ASCII.carriageReturn || value == ASCII.newline ? ASCII.space : value,
                    toByteOffset: index, as: UInt8.self)
            }
            written += utf8.count
            return true
        }
        guard copied != true else { return }
        for value in text.utf8 {
            byte(value == ASCII.carriageReturn || value == ASCII.newline ? ASCII.space : value)
        }
    }
}
