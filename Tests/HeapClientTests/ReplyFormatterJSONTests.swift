import HeapClient
import HeapProtocol
import Testing

struct ReplyFormatterJSONTests {
    @Test func scalars() {
        #expect(ReplyFormatter.json(.integer(-3)) == "-3")
        #expect(ReplyFormatter.json(.integer(.min)) == "-9223372036854775808")
        #expect(ReplyFormatter.json(.bulk("hello")) == #""hello""#)
        #expect(ReplyFormatter.json(.ok) == #""OK""#)
        #expect(ReplyFormatter.json(.null) == "null")
        #expect(ReplyFormatter.json(.nullArray) == "null")
        #expect(ReplyFormatter.json(.array([])) == "[]")
    }

    @Test func errorsAreObjects() {
        let reply = Reply.error(code: "WRONGTYPE", message: "not a \"list\"")
        #expect(ReplyFormatter.json(reply) == #"{"error":"WRONGTYPE","message":"not a \"list\""}"#)
    }

    @Test func nestedArrays() {
        let reply = Reply.array([.integer(1), .array([.bulk("a"), .null]), .array([]), .simple("OK")])
        #expect(ReplyFormatter.json(reply) == #"[1,["a",null],[],"OK"]"#)
    }

    @Test func stringEscaping() {
        let bytes: [UInt8] = [0x22, 0x5C, 0x2F, 0x0A, 0x0D, 0x09, 0x08, 0x0C, 0x00, 0x1F, 0x7F]
        #expect(ReplyFormatter.json(.bulk(bytes)) == #""\"\\/\n\r\t\b\f\u0000\u001f\u007f""#)
    }

    @Test func validUTF8IsKeptInvalidBytesAreEscaped() {
        #expect(ReplyFormatter.json(.bulk("é€😀")) == "\"é€😀\"")
        // Lone continuation byte, truncated sequence, overlong form, surrogate, beyond U+10FFFF.
        #expect(ReplyFormatter.json(.bulk([0x80])) == #""\u0080""#)
        #expect(ReplyFormatter.json(.bulk([0xE2, 0x82])) == #""\u00e2\u0082""#)
        #expect(ReplyFormatter.json(.bulk([0xC0, 0xAF])) == #""\u00c0\u00af""#)
        #expect(ReplyFormatter.json(.bulk([0xED, 0xA0, 0x80])) == #""\u00ed\u00a0\u0080""#)
        #expect(ReplyFormatter.json(.bulk([0xF4, 0x90, 0x80, 0x80])) == #""\u00f4\u0090\u0080\u0080""#)
        #expect(ReplyFormatter.json(.bulk([0x61, 0xFF, 0xC3, 0xA9])) == "\"a\\u00ffé\"")
    }

    @Test func resp3Types() {
        let hello = Reply.map([.init("proto", .integer(3)), .init("modules", .array([])), .init("ok", .boolean(true))])
        #expect(ReplyFormatter.json(hello) == #"{"proto":3,"modules":[],"ok":true}"#)
        #expect(ReplyFormatter.json(.set([.simple("a")])) == #"["a"]"#)
        #expect(ReplyFormatter.json(.double(2.5)) == "2.5")
        #expect(ReplyFormatter.json(.double(.infinity)) == #""inf""#)
    }
}
