/// Incremental RESP2 and RESP3 reply parser for clients.
///
/// It reads every RESP3 type heapd sends after `HELLO 3` (maps, sets, doubles, booleans, nulls, pushes)
/// and the other RESP3 types a Redis server could send (big numbers and verbatim strings as bulk
/// strings, blob errors as errors); attributes (`|`) are refused, as heapd never sends them.
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

    /// An aggregate (array, map, set, push) whose header has been read but whose elements are still
    /// arriving; a map's elements are its keys and values in turn.
    private struct OpenArray: Sendable {
        var kind: AggregateKind
        var remaining: Int
        var elements: [Reply]

        /// The reply its elements make.
        func completed() -> Reply {
            switch kind {
            case .array: return .array(elements)
            case .set: return .set(elements)
            case .push: return .push(elements)
            case .map:
                var entries: [Reply.MapEntry] = []
                entries.reserveCapacity(elements.count / 2)
                var index = 0
                while index + 1 < elements.count {
                    entries.append(Reply.MapEntry(elements[index], elements[index + 1]))
                    index += 2
                }
                return .map(entries)
            }
        }
    }

    private enum AggregateKind: Sendable {
        case array, map, set, push
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
            case .aggregateHeader(let kind, let count):
                guard openArrays.count < maxDepth else {
                    throw .nestingTooDeep(limit: maxDepth)
                }
                var elements: [Reply] = []
                // Reserve modestly: the count is the peer's claim, not data we have.
                elements.reserveCapacity(min(count, 1024))
                openArrays.append(OpenArray(kind: kind, remaining: count, elements: elements))
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
                completed = openArrays.removeLast().completed()
            }
            if openArrays.isEmpty {
                resumeOffset = 0
                return (completed, position)
            }
        }
    }

    /// One wire element: either a whole scalar reply or the header of a non-empty aggregate (for a map,
    /// the count of its keys and values).
    private enum Element {
        case value(Reply)
        case aggregateHeader(AggregateKind, Int)
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
            return try aggregate(.array, in: bytes, at: start)
        case ASCII.percent:
            return try aggregate(.map, in: bytes, at: start)
        case ASCII.tilde:
            return try aggregate(.set, in: bytes, at: start)
        case ASCII.greaterThan:
            return try aggregate(.push, in: bytes, at: start)
        case ASCII.underscore:
            guard let end = try lineEnd(in: bytes, from: start + 1) else {
                return nil
            }
            guard end == start + 1 else {
                throw .invalidReplyType(found: ASCII.underscore)
            }
            return (.value(.null), end + 2)
        case ASCII.hash:
            guard let end = try lineEnd(in: bytes, from: start + 1) else {
                return nil
            }
            guard end == start + 2, bytes[start + 1] == UInt8(ascii: "t") || bytes[start + 1] == UInt8(ascii: "f")
            else {
                throw .invalidReplyType(found: ASCII.hash)
            }
            return (.value(.boolean(bytes[start + 1] == UInt8(ascii: "t"))), end + 2)
        case ASCII.comma:
            guard let end = try lineEnd(in: bytes, from: start + 1) else {
                return nil
            }
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[(start + 1)..<end]), as: UTF8.self)
            guard let value = Self.double(text) else {
                throw .invalidReplyType(found: ASCII.comma)
            }
            return (.value(.double(value)), end + 2)
        case ASCII.openParenthesis:
            // A big number: kept as its digits, a client decides what to make of them.
            guard let end = try lineEnd(in: bytes, from: start + 1) else {
                return nil
            }
            return (.value(.bulk(Array(bytes[(start + 1)..<end]))), end + 2)
        case ASCII.equals, ASCII.exclamation:
            guard let (element, next) = try bulk(in: bytes, at: start) else {
                return nil
            }
            guard case .value(.bulk(let data)) = element else {
                throw .invalidBulkLength
            }
            if bytes[start] == ASCII.exclamation {
                return (.value(Self.errorReply(data)), next)
            }
            // A verbatim string: `txt:` or `mkd:` and the text.
            return (.value(.bulk(data.count >= 4 && data[3] == ASCII.colon ? Array(data[4...]) : data)), next)
        case let marker:
            throw .invalidReplyType(found: marker)
        }
    }

    /// The header of an aggregate: `*-1` is the null array, `*0` an empty one, anything else opens one.
    private func aggregate(
        _ kind: AggregateKind, in bytes: UnsafeRawBufferPointer, at start: Int
    ) throws(ProtocolError) -> (Element, next: Int)? {
        guard let (count, next) = try number(in: bytes, from: start + 1, invalid: .invalidMultibulkLength) else {
            return nil
        }
        // A map counts pairs; its keys and values arrive as elements.
        let limit = kind == .map ? Int64(Int.max / 2) : Int64(Int.max)
        switch count {
        case -1 where kind == .array: return (.value(.nullArray), next)
        case 0:
            switch kind {
            case .array: return (.value(.array([])), next)
            case .map: return (.value(.map([])), next)
            case .set: return (.value(.set([])), next)
            case .push: return (.value(.push([])), next)
            }
        case 1...limit: return (.aggregateHeader(kind, kind == .map ? Int(count) * 2 : Int(count)), next)
        default: throw .invalidMultibulkLength
        }
    }

    /// A RESP3 double: decimal or exponent notation, `inf`, `-inf`, `nan`.
    private static func double(_ text: String) -> Double? {
        switch text {
        case "inf", "+inf": return .infinity
        case "-inf": return -.infinity
        case "nan", "-nan": return .nan
        default: return Double(text)
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

    /// ``errorReply(_:)`` of a blob error's bytes.
    private static func errorReply(_ bytes: [UInt8]) -> Reply {
        bytes.withUnsafeBytes { errorReply($0) }
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
