import HeapProtocol
import Testing

@Suite struct ReplySizeTests {
    @Test func encodedSizeIsTheEncodingsLength() {
        let replies: [Reply] = [
            .simple("OK"), .simple(""), .error(code: "LIMIT", message: "too big"), .error(code: "", message: "x"),
            .error(code: "E", message: ""), .integer(0), .integer(-1), .integer(.max), .integer(.min), .integer(10),
            .bulk([]), .bulk(Array(repeating: 7, count: 1000)), .null, .nullArray, .array([]),
            .array([.integer(1), .array([.bulk([1, 2]), .null]), .simple("a\r\nb")]),
            .array(Array(repeating: .bulk([1]), count: 12)),
        ]
        for reply in replies {
            #expect(reply.encodedSize == reply.encoded.count, "\(reply)")
        }
    }
}
