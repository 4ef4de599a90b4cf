import HeapClient
import HeapProtocol
import Testing

/// Goldens captured from `redis-cli` 7.0 with stdout redirected (raw mode), minus its final newline.
struct ReplyFormatterRawTests {
    @Test func scalars() {
        #expect(ReplyFormatter.raw(.integer(3)) == "3")
        #expect(ReplyFormatter.raw(.ok) == "OK")
        #expect(ReplyFormatter.raw(.bulk("a\nb\"\\\u{01}é")) == "a\nb\"\\\u{01}é")
        #expect(ReplyFormatter.raw(.null) == "")
        #expect(ReplyFormatter.raw(.nullArray) == "")
        #expect(ReplyFormatter.raw(.array([])) == "")
    }

    @Test func errorsCarryTheirOwnNewline() {
        // redis-cli prints "ERR X\n" and then its command delimiter, leaving a blank line.
        #expect(ReplyFormatter.raw(.error(code: "ERR", message: "X")) == "ERR X\n")
        let mixed = Reply.array([.integer(1), .error(code: "MYERR", message: "boom"), .bulk("y")])
        #expect(ReplyFormatter.raw(mixed) == "1\nMYERR boom\n\ny")
    }

    @Test func arraysFlattenOnePerLine() {
        let reply = Reply.array([
            .integer(1), .array([.integer(2), .array([.integer(3), .bulk("x")])]), .array([]), .bulk("y"),
            .simple("FINE"),
        ])
        #expect(ReplyFormatter.raw(reply) == "1\n2\n3\nx\n\ny\nFINE")
    }

    @Test func invalidUTF8IsReplacedInStringsButKeptInBytes() {
        #expect(ReplyFormatter.raw(.bulk([0x61, 0xFF])) == "a\u{FFFD}")
        let reply = Reply.array([.bulk([0x00, 0xFF]), .integer(2), .null, .error(code: "E", message: "m")])
        #expect(ReplyFormatter.rawBytes(reply) == [0x00, 0xFF, 0x0A, 0x32, 0x0A, 0x0A, 0x45, 0x20, 0x6D, 0x0A])
    }
}
