import HeapProtocol
import Testing

struct RequestTests {
    @Test func stringInitializerEncodesUTF8() {
        let request = Request(["SET", "clé", ""])
        #expect(request.arguments == [Array("SET".utf8), [0x63, 0x6C, 0xC3, 0xA9], []])
        #expect(request.count == 3)
        #expect(!request.isEmpty)
    }

    @Test func emptyRequest() {
        #expect(Request(arguments: []).isEmpty)
        #expect(Request([]).string(at: 0) == nil)
    }

    @Test func stringAtIsLossyAndBoundsChecked() {
        let request = Request(arguments: [Array("GET".utf8), [0x61, 0xFF, 0x62]])
        #expect(request.string(at: 0) == "GET")
        #expect(request.string(at: 1) == "a\u{FFFD}b")
        #expect(request.string(at: 2) == nil)
        #expect(request.string(at: -1) == nil)
    }

    @Test func encodesAsMultibulk() {
        let request = Request(arguments: [Array("SET".utf8), Array("k".utf8), [0x0D, 0x0A, 0x00]])
        #expect(request.encoded == Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\n\r\n\0\r\n".utf8))
        #expect(Request([]).encoded == Array("*0\r\n".utf8))
    }

    @Test func encodingRoundTripsThroughDecoder() {
        let request = Request(arguments: [Array("SET".utf8), [], Array(0...255)])
        #expect(decodeEvents([request.encoded]) == [.request(request)])
    }

    @Test func defaultLimitsMatchRedis() {
        let limits = ProtocolLimits.default
        #expect(limits.maxLineLength == 65536)
        #expect(limits.maxArguments == 1024)
        #expect(limits.maxBulkLength == 512 * 1024 * 1024)
        #expect(limits == ProtocolLimits())
    }
}
