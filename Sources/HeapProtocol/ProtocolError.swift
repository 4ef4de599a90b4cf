/// Everything that can be wrong with bytes received on the wire, in either direction.
///
/// Errors are values rather than strings so the server can decide, per error, whether the stream is still
/// in sync (`closesConnection`) and can answer with a stable machine-readable `code` that scripts may match
/// on, while `message` stays free to be improved for humans.
public enum ProtocolError: Error, Sendable, Equatable {
    /// An inline request line exceeded `ProtocolLimits.maxLineLength` before its newline arrived.
    case lineTooLong(limit: Int)
    /// A multibulk header announced more than `ProtocolLimits.maxArguments` arguments.
    case tooManyArguments(limit: Int)
    /// An inline line held more than `ProtocolLimits.maxArguments` arguments.
    ///
    /// Distinct from `tooManyArguments` because the whole line has already been consumed, so the stream is
    /// still in sync and the connection can stay open.
    case tooManyInlineArguments(limit: Int)
    /// A multibulk argument announced more than `ProtocolLimits.maxBulkLength` bytes.
    case bulkTooLong(limit: Int)
    /// An inline line opened a quote it never closed.
    case unbalancedQuotes
    /// A closing quote in an inline line was directly followed by something other than a blank or line end.
    case textAfterClosingQuote
    /// A double-quoted inline argument used an unknown escape or a malformed `\xHH`.
    case invalidEscape
    /// A `*` header (request or reply) did not hold a valid decimal count.
    case invalidMultibulkLength
    /// A `$` header (request or reply) did not hold a valid decimal length.
    case invalidBulkLength
    /// A multibulk request element did not start with `$`.
    case expectedDollar(found: UInt8)
    /// Bulk data or a reply line was not terminated by `\r\n`.
    case expectedCRLF
    /// A reply started with a byte that is not a RESP2 type marker.
    case invalidReplyType(found: UInt8)
    /// An integer reply did not hold a valid 64-bit decimal number.
    case invalidInteger
    /// A reply nested arrays deeper than the decoder allows.
    case nestingTooDeep(limit: Int)

    /// Stable wire code: `LIMIT` for exceeded limits, `SYNTAX` for inline quoting mistakes, `PROTO` for
    /// broken RESP framing. Clients and scripts may rely on these never changing.
    public var code: ErrorCode {
        switch self {
        case .lineTooLong, .tooManyArguments, .tooManyInlineArguments, .bulkTooLong, .nestingTooDeep:
            .limit
        case .unbalancedQuotes, .textAfterClosingQuote, .invalidEscape:
            .syntax
        case .invalidMultibulkLength, .invalidBulkLength, .expectedDollar, .expectedCRLF, .invalidReplyType,
            .invalidInteger:
            .proto
        }
    }

    /// Human-readable explanation, sent after the code in the error reply; wording may change over time.
    public var message: String {
        switch self {
        case .lineTooLong(let limit): "line too long (max \(limit) bytes)"
        case .tooManyArguments(let limit), .tooManyInlineArguments(let limit):
            "too many arguments (max \(limit))"
        case .bulkTooLong(let limit): "bulk argument too long (max \(limit) bytes)"
        case .unbalancedQuotes: "unbalanced quotes in request"
        case .textAfterClosingQuote: "closing quote must be followed by a space or the end of the line"
        case .invalidEscape: "invalid escape sequence in double-quoted argument"
        case .invalidMultibulkLength: "invalid multibulk length"
        case .invalidBulkLength: "invalid bulk length"
        case .expectedDollar(let found): "expected '$', got '\(ASCII.describe(found))'"
        case .expectedCRLF: "expected CRLF line terminator"
        case .invalidReplyType(let found): "invalid reply type byte '\(ASCII.describe(found))'"
        case .invalidInteger: "invalid integer reply"
        case .nestingTooDeep(let limit): "reply nested too deeply (max \(limit) levels)"
        }
    }

    /// Whether the connection must be closed after reporting this error.
    ///
    /// True for RESP framing errors, as in Redis: once a length or terminator is wrong the decoder cannot
    /// know where the next request starts, so anything it read afterwards would be guesswork. Inline errors
    /// are detected only after the whole line is delimited, so the stream is still in sync and the client
    /// may simply correct its typo and continue.
    public var closesConnection: Bool {
        switch self {
        case .lineTooLong, .tooManyInlineArguments, .unbalancedQuotes, .textAfterClosingQuote, .invalidEscape:
            false
        case .tooManyArguments, .bulkTooLong, .invalidMultibulkLength, .invalidBulkLength, .expectedDollar,
            .expectedCRLF, .invalidReplyType, .invalidInteger, .nestingTooDeep:
            true
        }
    }

    /// The error reply a server sends for this error: `-CODE message`.
    public var reply: Reply {
        .error(code, message)
    }
}

extension ProtocolError: CustomStringConvertible {
    /// `CODE message`, the same text the error reply carries.
    public var description: String {
        "\(code) \(message)"
    }
}
