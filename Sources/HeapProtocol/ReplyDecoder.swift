/// Incremental RESP2 reply parser for clients.
///
/// Replies can be large (a big bulk value, a long array) and arrive over many reads. Rather than re-parsing
/// from scratch on every read, the decoder remembers the arrays it has already opened and where it stopped,
/// so each byte is examined about once. That relies on one contract: after `decode(_:)` returns `nil`
/// (nothing consumed), the next call must be given the same bytes again, optionally followed by more.
///
/// All thrown errors are fatal for the connection: after one, the byte stream can no longer be trusted. The
/// decoder resets itself so it can be reused on a fresh connection.
public struct ReplyDecoder: Sendable {
    /// Bounds status/error line length (`maxLineLength`) and bulk string length (`maxBulkLength`).
    /// `maxArguments` does not apply: replies legitimately carry arrays longer than any request.
    public let limits: ProtocolLimits
    /// Deepest array nesting accepted; bounds the recursion needed later to compare or free a `Reply`.
    public let maxDepth: Int

    /// An array whose header has been read but whose elements are still arriving.
    private struct OpenArray: Sendable {
        var remaining: Int
        var elements: [Reply]
    }

    /// Arrays opened so far for the reply in progress, outermost first.
    private var openArrays: [OpenArray] = []
    /// Offset in the caller's unconsumed bytes where parsing resumes; everything before it is already in
    /// `openArrays`.
    private var resumeOffset = 0

    /// Creates a decoder; `maxDepth` defaults to far deeper than any reply heapd sends.
    public init(limits: ProtocolLimits = .default, maxDepth: Int = 64) {
        self.limits = limits
        self.maxDepth = maxDepth
    }

    /// Decodes one complete reply from the start of `bytes`, or returns `nil` if more data is needed.
    public mutating func decode(_ bytes: UnsafeRawBufferPointer) throws(ProtocolError) -> (Reply, consumed: Int)? {
        if resumeOffset > bytes.count {
            // The caller broke the contract (shorter input than before); start over rather than crash.
            reset()
        }
        do {
            return try decodeResuming(bytes)
        } catch {
            reset()
            throw error
        }
    }

    /// Forgets any partially decoded reply.
    public mutating func reset() {
        openArrays = []
        resumeOffset = 0
    }

    private mutating func decodeResuming(
        _ bytes: UnsafeRawBufferPointer
    ) throws(ProtocolError) -> (Reply, consumed: Int)? {
        var position = resumeOffset
        while true {
            guard let (element, next) = try element(in: bytes, at: position) else {
                resumeOffset = position
                return nil
            }
            position = next
            var completed: Reply
            switch element {
            case .arrayHeader(let count):
                guard openArrays.count < maxDepth else {
                    throw .nestingTooDeep(limit: maxDepth)
                }
                var elements: [Reply] = []
                // Reserve modestly: the count is the peer's claim, not data we have.
                elements.reserveCapacity(min(count, 1024))
                openArrays.append(OpenArray(remaining: count, elements: elements))
                continue
            case .value(let reply):
                completed = reply
            }
            while !openArrays.isEmpty {
                let last = openArrays.count - 1
                openArrays[last].elements.append(completed)
                openArrays[last].remaining -= 1
                guard openArrays[last].remaining == 0 else {
                    break
                }
                completed = .array(openArrays.removeLast().elements)
            }
            if openArrays.isEmpty {
                resumeOffset = 0
                return (completed, position)
            }
        }
    }

    /// One wire element: either a whole scalar reply or the header of a non-empty array.
    private enum Element {
        case value(Reply)
        case arrayHeader(Int)
    }

    /// Parses the element starting at `start`, returning it and the offset just past it, or `nil` if the
    /// bytes end before it does.
    private func element(
        in bytes: UnsafeRawBufferPointer,
        at start: Int
    ) throws(ProtocolError) -> (Element, next: Int)? {
        guard start < bytes.count else {
            return nil
        }
        switch bytes[start] {
        case ASCII.plus:
            guard let end = try lineEnd(in: bytes, from: start + 1) else {
                return nil
            }
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[(start + 1)..<end]), as: UTF8.self)
            return (.value(.simple(text)), end + 2)
        case ASCII.minus:
            guard let end = try lineEnd(in: bytes, from: start + 1) else {
                return nil
            }
            return (.value(Self.errorReply(UnsafeRawBufferPointer(rebasing: bytes[(start + 1)..<end]))), end + 2)
        case ASCII.colon:
            guard let (value, next) = try number(in: bytes, from: start + 1, invalid: .invalidInteger) else {
                return nil
            }
            return (.value(.integer(value)), next)
        case ASCII.dollar:
            return try bulk(in: bytes, at: start)
        case ASCII.asterisk:
            guard let (count, next) = try number(in: bytes, from: start + 1, invalid: .invalidMultibulkLength)
            else {
                return nil
            }
            switch count {
            case -1: return (.value(.nullArray), next)
            case 0: return (.value(.array([])), next)
            case 1...Int64(Int.max): return (.arrayHeader(Int(count)), next)
            default: throw .invalidMultibulkLength
            }
        case let marker:
            throw .invalidReplyType(found: marker)
        }
    }

    private func bulk(in bytes: UnsafeRawBufferPointer, at start: Int) throws(ProtocolError) -> (Element, next: Int)? {
        guard let (length, dataStart) = try number(in: bytes, from: start + 1, invalid: .invalidBulkLength) else {
            return nil
        }
        if length == -1 {
            return (.value(.null), dataStart)
        }
        guard length >= 0 else {
            throw .invalidBulkLength
        }
        guard length <= limits.maxBulkLength else {
            throw .bulkTooLong(limit: limits.maxBulkLength)
        }
        let count = Int(length)
        guard bytes.count - dataStart - 2 >= count else {
            return nil
        }
        let dataEnd = dataStart + count
        guard bytes[dataEnd] == ASCII.carriageReturn, bytes[dataEnd + 1] == ASCII.newline else {
            throw .expectedCRLF
        }
        return (.value(.bulk(Array(bytes[dataStart..<dataEnd]))), dataEnd + 2)
    }

    /// Finds the `\r` of the `\r\n` ending the line that starts at `start`, enforcing the line length limit.
    private func lineEnd(in bytes: UnsafeRawBufferPointer, from start: Int) throws(ProtocolError) -> Int? {
        let rest = bytes[start...]
        guard let carriageReturn = rest.firstIndex(of: ASCII.carriageReturn) else {
            if rest.count > limits.maxLineLength {
                throw .lineTooLong(limit: limits.maxLineLength)
            }
            return nil
        }
        if carriageReturn - start > limits.maxLineLength {
            throw .lineTooLong(limit: limits.maxLineLength)
        }
        guard carriageReturn + 1 < bytes.count else {
            return nil
        }
        guard bytes[carriageReturn + 1] == ASCII.newline else {
            throw .expectedCRLF
        }
        return carriageReturn
    }

    /// Parses the decimal header line starting at `start`, returning its value and the offset past `\r\n`.
    private func number(
        in bytes: UnsafeRawBufferPointer,
        from start: Int,
        invalid: ProtocolError
    ) throws(ProtocolError) -> (Int64, next: Int)? {
        var parser = DecimalLineParser()
        var position = start
        while position < bytes.count {
            switch parser.feed(bytes[position]) {
            case .needMore:
                position += 1
            case .invalid:
                throw invalid
            case .complete(let value):
                return (value, position + 1)
            }
        }
        return nil
    }

    /// Splits an error line into its code (the first word) and message (the rest), as Redis clients do.
    private static func errorReply(_ line: UnsafeRawBufferPointer) -> Reply {
        guard let space = line.firstIndex(of: ASCII.space) else {
            return .error(code: String(decoding: line, as: UTF8.self), message: "")
        }
        return .error(
            code: String(decoding: UnsafeRawBufferPointer(rebasing: line[..<space]), as: UTF8.self),
            message: String(decoding: UnsafeRawBufferPointer(rebasing: line[(space + 1)...]), as: UTF8.self)
        )
    }
}
