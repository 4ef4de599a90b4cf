import HeapProtocol
import Testing

struct ProtocolErrorTests {
    struct Expectation: Sendable, CustomStringConvertible {
        let error: ProtocolError
        let code: ErrorCode
        let closes: Bool
        let message: String

        init(_ error: ProtocolError, _ code: ErrorCode, closes: Bool, _ message: String) {
            self.error = error
            self.code = code
            self.closes = closes
            self.message = message
        }

        var description: String { "\(error)" }
    }

    static let table: [Expectation] = [
        .init(.lineTooLong(limit: 65536), "LIMIT", closes: false, "line too long (max 65536 bytes)"),
        .init(.tooManyArguments(limit: 1024), "LIMIT", closes: true, "too many arguments (max 1024)"),
        .init(.tooManyInlineArguments(limit: 8), "LIMIT", closes: false, "too many arguments (max 8)"),
        .init(.bulkTooLong(limit: 10), "LIMIT", closes: true, "bulk argument too long (max 10 bytes)"),
        .init(.unbalancedQuotes, "SYNTAX", closes: false, "unbalanced quotes in request"),
        .init(
            .textAfterClosingQuote, "SYNTAX", closes: false,
            "closing quote must be followed by a space or the end of the line"),
        .init(.invalidEscape, "SYNTAX", closes: false, "invalid escape sequence in double-quoted argument"),
        .init(.invalidMultibulkLength, "PROTO", closes: true, "invalid multibulk length"),
        .init(.invalidBulkLength, "PROTO", closes: true, "invalid bulk length"),
        .init(.expectedDollar(found: UInt8(ascii: "x")), "PROTO", closes: true, "expected '$', got 'x'"),
        .init(.expectedDollar(found: 0), "PROTO", closes: true, #"expected '$', got '\x00'"#),
        .init(.expectedCRLF, "PROTO", closes: true, "expected CRLF line terminator"),
        .init(.invalidReplyType(found: 0xFF), "PROTO", closes: true, #"invalid reply type byte '\xff'"#),
        .init(.invalidInteger, "PROTO", closes: true, "invalid integer reply"),
        .init(.nestingTooDeep(limit: 3), "LIMIT", closes: true, "reply nested too deeply (max 3 levels)"),
    ]

    @Test(arguments: table)
    func codeMessageAndClosing(_ expectation: Expectation) {
        #expect(expectation.error.code == expectation.code)
        #expect(expectation.error.message == expectation.message)
        #expect(expectation.error.closesConnection == expectation.closes)
        #expect(expectation.error.description == "\(expectation.code) \(expectation.message)")
        #expect(expectation.error.reply == .error(expectation.code, expectation.message))
        #expect(expectation.error.reply.errorCode == expectation.code)
    }
}
