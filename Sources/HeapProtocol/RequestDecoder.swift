/// Incremental decoder turning the bytes a client sends into `Request`s, accepting both the RESP multibulk
/// form (what client libraries send) and inline text lines (what humans type into `nc` or `telnet`).
///
/// The decoder absorbs partial input into its own state and reports it as consumed, so the caller's buffer
/// never has to hold more than the bytes of one read, and every byte is examined once no matter how the
/// input is chunked. Usage: keep a buffer, call `decode(_:)` on its bytes, drop `consumed` bytes after every
/// step, and stop when the step is `.needMoreData`. Any chunking of the same stream yields the same
/// sequence of requests and errors.
///
/// After a failure whose `closesConnection` is true the decoder stays failed: it reports that error again
/// for any further input and consumes all of it, so a careless caller can never execute commands read from
/// a desynchronised stream.
public struct RequestDecoder: Sendable {
    /// The limits this decoder enforces.
    public let limits: ProtocolLimits

    /// Where in the grammar the next byte belongs.
    private enum Phase: Sendable {
        /// At the start of a request: `*` selects multibulk, anything else an inline line.
        case idle
        /// Accumulating an inline line (into `line`) until its newline.
        case inlineLine
        /// Dropping the rest of an over-long inline line up to and including its newline.
        case discardingLine
        /// Reading the argument count after `*`.
        case multibulkCount
        /// Expecting the `$` that starts the next bulk argument.
        case bulkMarker
        /// Reading the byte length after `$`.
        case bulkLength
        /// Copying bulk data (into `bulk`) until `bulkRemaining` reaches zero.
        case bulkData
        /// Expecting the `\r` that terminates bulk data.
        case bulkCarriageReturn
        /// Expecting the `\n` that terminates bulk data.
        case bulkNewline
        /// A connection-closing error occurred; nothing more will be decoded.
        case failed(ProtocolError)
    }

    private var phase = Phase.idle
    /// Bytes of an inline line received so far, excluding its newline.
    private var line: [UInt8] = []
    /// The header line currently being parsed.
    private var header = DecimalLineParser()
    /// Multibulk arguments completed so far.
    private var arguments: [[UInt8]] = []
    /// How many arguments the current multibulk request announced.
    private var expectedArguments = 0
    /// Bytes of the bulk argument being received.
    private var bulk: [UInt8] = []
    /// Bytes of the current bulk argument still to come.
    private var bulkRemaining = 0
    /// Bytes held in `arguments` (the complete arguments of the multibulk request being received).
    private var argumentBytes = 0
    /// Arrays of requests already executed, given back by ``recycle(_:)``, emptied with their capacity:
    /// the next requests' arguments are received into them, so a connection in steady state decodes
    /// without allocating (each request used to cost an array per argument and one for the list).
    private var spareBytes: [[UInt8]] = []
    private var spareLists: [[[UInt8]]] = []
    /// The capacity of the spare byte arrays together.
    private var spareByteCapacity = 0
    /// Spares for a whole batch of small requests (a batch is decoded before it runs, so its requests'
    /// arrays come back together), bounded in bytes: an idle connection keeps at most
    /// ``spareByteBudget`` bytes of them, not the biggest request it ever received.
    static let spareListCount = 64
    static let spareByteBudget = 8192

    /// Bytes of the request being received that the decoder holds: a partial inline line, or the
    /// arguments and partial bulk of a multibulk request. 0 between requests. The server sums this over
    /// its clients against a budget (a client's share grows only as its bytes actually arrive).
    ///
    /// The buffers count by capacity, not by count: a growing bulk doubles its array, so the bytes
    /// received can be half of what is allocated, and the budget is there to bound memory.
    public var partialBytes: Int {
        (line.isEmpty ? 0 : line.capacity) + argumentBytes + (bulk.isEmpty ? 0 : bulk.capacity)
    }

    /// Creates a decoder enforcing `limits`.
    public init(limits: ProtocolLimits = .default) {
        self.limits = limits
    }

    /// Gives back the arrays of a request the caller is done with, for the next requests to reuse.
    /// Optional: a request not given back just costs its allocations. An array another copy of the
    /// request still shares (a command that kept its arguments) is copied when emptied, as value
    /// semantics require: reuse never changes what the other copy holds.
    public mutating func recycle(_ request: consuming Request) {
        // Swapped out rather than copied, so that `list` and its arrays have no other owner here.
        var request = request
        var list: [[UInt8]] = []
        swap(&list, &request.arguments)
        while var argument = list.popLast() {
            guard argument.capacity > 0, spareByteCapacity + argument.capacity <= Self.spareByteBudget else {
                continue
            }
            argument.removeAll(keepingCapacity: true)
            spareByteCapacity += argument.capacity
            spareBytes.append(argument)
        }
        if spareLists.count < Self.spareListCount, list.capacity <= Self.spareListCount {
            spareLists.append(list)
        }
    }

    /// Decodes at most one request from the start of `bytes`, which must be the caller's unconsumed input.
    public mutating func decode(_ bytes: UnsafeRawBufferPointer) -> DecodeStep {
        var position = 0
        while position < bytes.count {
            let outcome: Outcome
            switch phase {
            case .idle:
                if bytes[position] == ASCII.asterisk {
                    header = DecimalLineParser()
                    phase = .multibulkCount
                    position += 1
                } else {
                    phase = .inlineLine
                }
                continue
            case .inlineLine:
                outcome = readInline(bytes, at: &position)
            case .discardingLine:
                outcome = discardLine(bytes, at: &position)
            case .multibulkCount:
                outcome = readMultibulkCount(bytes[position])
                position += 1
            case .bulkMarker:
                outcome = readBulkMarker(bytes[position])
                position += 1
            case .bulkLength:
                outcome = readBulkLength(bytes[position])
                position += 1
            case .bulkData:
                outcome = readBulkData(bytes, at: &position)
            case .bulkCarriageReturn, .bulkNewline:
                outcome = readBulkTerminator(bytes[position])
                position += 1
            case .failed(let error):
                return .failure(error, consumed: bytes.count)
            }
            switch outcome {
            case .progress:
                continue
            case .request(let request):
                return .request(request, consumed: position)
            case .failure(let error):
                if error.closesConnection {
                    phase = .failed(error)
                    // Nothing more will be decoded: give back what the broken request held.
                    (arguments, bulk, line, argumentBytes) = ([], [], [], 0)
                    return .failure(error, consumed: bytes.count)
                }
                return .failure(error, consumed: position)
            }
        }
        return .needMoreData(consumed: bytes.count)
    }

    // MARK: - In place

    /// Like ``decode(_:)``, but a complete request that lies whole in `bytes` is not copied: the spans
    /// of its arguments (offsets into `bytes`, the command name first) are appended to `spans`, and the
    /// caller reads them where they are for as long as it keeps the bytes.
    ///
    /// Only what decodes to a request with no error frames so: a multibulk request whose headers are
    /// plain digits within the limits, or an inline line without quotes within the limits, starting at
    /// `bytes[0]` between requests. Anything else (a request split across reads, a quoted line, a blank
    /// line, any error) goes to ``decode(_:)`` untouched, so both give the same requests and errors for
    /// any input and any chunking; the fuzz target checks it.
    public mutating func frame(_ bytes: UnsafeRawBufferPointer, into spans: inout [ArgumentSpan]) -> FrameStep {
        if case .idle = phase, !bytes.isEmpty {
            let before = spans.count
            let consumed =
                bytes[0] == ASCII.asterisk
                ? frameMultibulk(bytes, into: &spans) : frameInline(bytes, into: &spans)
            if consumed > 0 {
                return .framed(arguments: spans.count - before, consumed: consumed)
            }
            spans.removeSubrange(before...)
        }
        return .decoded(decode(bytes))
    }

    /// Frames `*N\r\n` and N bulk arguments from `bytes[0]`; returns the bytes they take, or 0 when the
    /// request is incomplete or not plain (left to ``decode(_:)``, which copies or reports it).
    private func frameMultibulk(_ bytes: UnsafeRawBufferPointer, into spans: inout [ArgumentSpan]) -> Int {
        var position = 1
        let count = Self.plainHeader(bytes, at: &position)
        // `*0` (skipped) and counts past the limit (an error) go the slow way.
        guard count > 0, count <= limits.maxArguments else { return 0 }
        for _ in 0..<count {
            guard position < bytes.count, bytes[position] == ASCII.dollar else { return 0 }
            position += 1
            let length = Self.plainHeader(bytes, at: &position)
            guard length >= 0, length <= limits.maxBulkLength, bytes.count - position >= length + 2 else {
                return 0
            }
            let end = position + length
            guard bytes[end] == ASCII.carriageReturn, bytes[end + 1] == ASCII.newline else { return 0 }
            spans.append(ArgumentSpan(start: position, count: length))
            position = end + 2
        }
        return position
    }

    /// Reads the digits and `\r\n` of a header line at `position` and moves past them: the value, or -1
    /// for anything ``DecimalLineParser`` might read otherwise (a sign, a leading zero, more than 9
    /// digits, a line not complete in `bytes`), which sends the request the slow way.
    @inline(__always)
    private static func plainHeader(_ bytes: UnsafeRawBufferPointer, at position: inout Int) -> Int {
        var value = 0
        var digits = 0
        var index = position
        while index < bytes.count, digits <= 9 {
            let byte = bytes[index]
            guard byte >= ASCII.zero, byte <= ASCII.nine else { break }
            // `0` alone is plain; `007` is an error the slow way reports.
            if digits == 1, value == 0 { return -1 }
            value = value * 10 + Int(byte - ASCII.zero)
            digits += 1
            index += 1
        }
        guard digits > 0, digits <= 9, bytes.count - index >= 2, bytes[index] == ASCII.carriageReturn,
            bytes[index + 1] == ASCII.newline
        else { return -1 }
        position = index + 2
        return value
    }

    /// Frames one inline line at `bytes[0]` made of plain words (no quote, so each word is its bytes
    /// as they are); returns the bytes up to and including its newline, or 0 when the line is
    /// incomplete, quoted, blank or past a limit (left to ``decode(_:)``).
    private func frameInline(_ bytes: UnsafeRawBufferPointer, into spans: inout [ArgumentSpan]) -> Int {
        guard let newline = bytes.firstIndex(of: ASCII.newline) else { return 0 }
        var end = newline
        if end > 0, bytes[end - 1] == ASCII.carriageReturn { end -= 1 }
        guard end <= limits.maxLineLength else { return 0 }
        var position = 0
        var words = 0
        while true {
            while position < end, ASCII.isBlank(bytes[position]) { position += 1 }
            if position == end { break }
            let start = position
            while position < end, !ASCII.isBlank(bytes[position]) {
                let byte = bytes[position]
                if byte == ASCII.doubleQuote || byte == ASCII.singleQuote { return 0 }
                position += 1
            }
            words += 1
            guard words <= limits.maxArguments else { return 0 }
            spans.append(ArgumentSpan(start: start, count: position - start))
        }
        return words > 0 ? newline + 1 : 0
    }

    /// What one decoding action produced.
    private enum Outcome {
        /// Bytes were absorbed; keep going.
        case progress
        case request(Request)
        case failure(ProtocolError)
    }

    // MARK: - Inline

    private mutating func readInline(_ bytes: UnsafeRawBufferPointer, at position: inout Int) -> Outcome {
        let rest = UnsafeRawBufferPointer(rebasing: bytes[position...])
        guard let newline = rest.firstIndex(of: ASCII.newline) else {
            // Without a newline, the line may still end in the `\r` of a `\r\n`, so allow one extra byte,
            // but only if it is that `\r`.
            let pending = line.count + rest.count
            let overLimit =
                pending - 1 > limits.maxLineLength
                || (pending - 1 == limits.maxLineLength && rest[rest.count - 1] != ASCII.carriageReturn)
            position = bytes.count
            if overLimit {
                line.removeAll()
                phase = .discardingLine
                return .failure(.lineTooLong(limit: limits.maxLineLength))
            }
            line.append(contentsOf: rest)
            return .progress
        }
        position += newline + 1
        phase = .idle
        if line.isEmpty {
            return tokenize(UnsafeRawBufferPointer(rebasing: rest[..<newline]))
        }
        line.append(contentsOf: rest[..<newline])
        defer {
            // Keep a small buffer for the next split line, but do not pin up to 64 KiB per idle connection.
            if line.capacity > 4096 {
                line = []
            } else {
                line.removeAll(keepingCapacity: true)
            }
        }
        return line.withUnsafeBytes { tokenize($0) }
    }

    /// Turns one complete inline line (without its `\n`) into a request, or into nothing if it is blank.
    private func tokenize(_ fullLine: UnsafeRawBufferPointer) -> Outcome {
        var content = fullLine
        if let last = content.last, last == ASCII.carriageReturn {
            content = UnsafeRawBufferPointer(rebasing: content.dropLast())
        }
        guard content.count <= limits.maxLineLength else {
            return .failure(.lineTooLong(limit: limits.maxLineLength))
        }
        do {
            let arguments = try InlineTokenizer.split(content, maxArguments: limits.maxArguments)
            return arguments.isEmpty ? .progress : .request(Request(arguments: arguments))
        } catch {
            return .failure(error)
        }
    }

    private mutating func discardLine(_ bytes: UnsafeRawBufferPointer, at position: inout Int) -> Outcome {
        let rest = bytes[position...]
        if let newline = rest.firstIndex(of: ASCII.newline) {
            position = newline + 1
            phase = .idle
        } else {
            position = bytes.count
        }
        return .progress
    }

    // MARK: - Multibulk

    private mutating func readMultibulkCount(_ byte: UInt8) -> Outcome {
        switch header.feed(byte) {
        case .needMore:
            return .progress
        case .invalid:
            return .failure(.invalidMultibulkLength)
        case .complete(let count):
            if count <= 0 {
                // `*0` and `*-1` are empty requests; Redis skips them silently.
                phase = .idle
                return .progress
            }
            guard count <= limits.maxArguments else {
                return .failure(.tooManyArguments(limit: limits.maxArguments))
            }
            expectedArguments = Int(count)
            arguments = spareLists.popLast() ?? []
            argumentBytes = 0
            arguments.reserveCapacity(expectedArguments)
            phase = .bulkMarker
            return .progress
        }
    }

    private mutating func readBulkMarker(_ byte: UInt8) -> Outcome {
        guard byte == ASCII.dollar else {
            return .failure(.expectedDollar(found: byte))
        }
        header = DecimalLineParser()
        phase = .bulkLength
        return .progress
    }

    private mutating func readBulkLength(_ byte: UInt8) -> Outcome {
        switch header.feed(byte) {
        case .needMore:
            return .progress
        case .invalid:
            return .failure(.invalidBulkLength)
        case .complete(let length):
            guard length >= 0 else {
                return .failure(.invalidBulkLength)
            }
            guard length <= limits.maxBulkLength else {
                return .failure(.bulkTooLong(limit: limits.maxBulkLength))
            }
            bulkRemaining = Int(length)
            if let spare = spareBytes.popLast() {
                spareByteCapacity -= spare.capacity
                bulk = spare
            } else {
                bulk = []
            }
            phase = bulkRemaining == 0 ? .bulkCarriageReturn : .bulkData
            return .progress
        }
    }

    private mutating func readBulkData(_ bytes: UnsafeRawBufferPointer, at position: inout Int) -> Outcome {
        let available = min(bulkRemaining, bytes.count - position)
        // Grow only as data actually arrives: reserving the announced length up front would let a client
        // claim 512 MiB per connection without sending it.
        bulk.append(contentsOf: bytes[position..<position + available])
        position += available
        bulkRemaining -= available
        if bulkRemaining == 0 {
            phase = .bulkCarriageReturn
        }
        return .progress
    }

    private mutating func readBulkTerminator(_ byte: UInt8) -> Outcome {
        if case .bulkCarriageReturn = phase {
            guard byte == ASCII.carriageReturn else {
                return .failure(.expectedCRLF)
            }
            phase = .bulkNewline
            return .progress
        }
        guard byte == ASCII.newline else {
            return .failure(.expectedCRLF)
        }
        argumentBytes += bulk.count
        arguments.append(bulk)
        bulk = []
        guard arguments.count == expectedArguments else {
            phase = .bulkMarker
            return .progress
        }
        let request = Request(arguments: arguments)
        arguments = []
        argumentBytes = 0
        phase = .idle
        return .request(request)
    }
}
