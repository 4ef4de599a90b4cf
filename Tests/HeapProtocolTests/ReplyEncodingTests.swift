import HeapProtocol
import Testing

struct ReplyEncodingTests {
    static func text(_ reply: Reply) -> String {
        String(decoding: reply.encoded, as: UTF8.self)
    }

    @Test func scalars() {
        #expect(Self.text(.ok) == "+OK\r\n")
        #expect(Self.text(.simple("")) == "+\r\n")
        #expect(Self.text(.error(code: "ERR", message: "no such key")) == "-ERR no such key\r\n")
        #expect(Self.text(.error(code: "ERR", message: "")) == "-ERR\r\n")
        #expect(Self.text(.integer(3)) == ":3\r\n")
        #expect(Self.text(.integer(0)) == ":0\r\n")
        #expect(Self.text(.integer(-42)) == ":-42\r\n")
        #expect(Self.text(.integer(.min)) == ":-9223372036854775808\r\n")
        #expect(Self.text(.integer(.max)) == ":9223372036854775807\r\n")
        #expect(Self.text(.bulk("hello")) == "$5\r\nhello\r\n")
        #expect(Self.text(.bulk([])) == "$0\r\n\r\n")
        #expect(Self.text(.null) == "$-1\r\n")
        #expect(Self.text(.nullArray) == "*-1\r\n")
    }

    @Test func bulkIsBinarySafe() {
        #expect(Reply.bulk([0x0D, 0x0A, 0x00]).encoded == [0x24, 0x33, 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A])
    }

    @Test func lineRepliesCannotInjectLines() {
        #expect(Self.text(.simple("a\r\nb")) == "+a  b\r\n")
        #expect(Self.text(.error(code: "E\nX", message: "bad\r\n+OK")) == "-E X bad  +OK\r\n")
        // Past 15 bytes a string is no longer stored inline: its bytes are read where they are allocated.
        let long = String(repeating: "é", count: 12) + "\r\n+OK\n"
        #expect(Self.text(.simple(long)) == "+" + String(repeating: "é", count: 12) + "  +OK \r\n")
    }

    @Test func arrays() {
        #expect(Self.text(.array([])) == "*0\r\n")
        let nested = Reply.array([.integer(1), .array([.bulk("a"), .null]), .nullArray, .ok])
        #expect(Self.text(nested) == "*4\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n*-1\r\n+OK\r\n")
    }

    @Test func encodeAppends() {
        var buffer = Array("prefix".utf8)
        Reply.integer(1).encode(into: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self) == "prefix:1\r\n")
    }
}
