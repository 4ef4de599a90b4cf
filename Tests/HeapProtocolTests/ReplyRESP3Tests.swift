import HeapProtocol
import Testing

/// The RESP3 types: their wire form after `HELLO 3`, their RESP2 form otherwise (which must be exactly
/// what heapd sent before RESP3 existed), their sizes, and the decoder reading them back.
struct ReplyRESP3Tests {
    static func text(_ reply: Reply, _ version: ProtocolVersion) -> String {
        String(decoding: reply.encoded(version), as: UTF8.self)
    }

    static let map = Reply.map([.init("proto", .integer(3)), .init("modules", .array([]))])

    @Test func resp3Forms() {
        #expect(Self.text(Self.map, .resp3) == "%2\r\n$5\r\nproto\r\n:3\r\n$7\r\nmodules\r\n*0\r\n")
        #expect(Self.text(.set([.simple("readonly"), .simple("admin")]), .resp3) == "~2\r\n+readonly\r\n+admin\r\n")
        #expect(Self.text(.push([.bulk("gc-start"), .integer(0)]), .resp3) == ">2\r\n$8\r\ngc-start\r\n:0\r\n")
        #expect(Self.text(.double(2.5), .resp3) == ",2.5\r\n")
        #expect(Self.text(.double(-.infinity), .resp3) == ",-inf\r\n")
        #expect(Self.text(.double(.nan), .resp3) == ",nan\r\n")
        #expect(Self.text(.boolean(true), .resp3) == "#t\r\n")
        #expect(Self.text(.boolean(false), .resp3) == "#f\r\n")
        #expect(Self.text(.null, .resp3) == "_\r\n")
        #expect(Self.text(.nullArray, .resp3) == "_\r\n")
        // Nested: a map inside an array keeps its RESP3 form.
        #expect(Self.text(.array([Self.map]), .resp3).hasPrefix("*1\r\n%2\r\n"))
    }

    @Test func resp2FormsAreWhatRedisSends() {
        #expect(Self.text(Self.map, .resp2) == "*4\r\n$5\r\nproto\r\n:3\r\n$7\r\nmodules\r\n*0\r\n")
        #expect(Self.text(.set([.simple("a")]), .resp2) == "*1\r\n+a\r\n")
        #expect(Self.text(.push([.bulk("x")]), .resp2) == "*1\r\n$1\r\nx\r\n")
        #expect(Self.text(.double(2.5), .resp2) == "$3\r\n2.5\r\n")
        #expect(Self.text(.boolean(true), .resp2) == ":1\r\n")
        #expect(Self.text(.boolean(false), .resp2) == ":0\r\n")
        #expect(Self.text(.null, .resp2) == "$-1\r\n")
        #expect(Self.text(.nullArray, .resp2) == "*-1\r\n")
        // The default encoding is RESP2.
        #expect(Self.map.encoded == Self.map.encoded(.resp2))
    }

    static let samples: [Reply] = [
        map, .map([]), .set([]), .set([.integer(1), .bulk("b")]),
        .push([.bulk("finalizer"), .bulk("#3"), .bulk("Node")]),
        .double(0), .double(-1e-300), .double(123_456_789.125), .double(.infinity), .boolean(true), .boolean(false),
        .null, .nullArray, .array([.map([.init(.integer(1), .set([.double(1.5)]))]), .push([])]),
    ]

    @Test(arguments: ProtocolVersion.allCases) func sizesAreTheEncodingsLength(_ version: ProtocolVersion) {
        for reply in Self.samples {
            #expect(reply.encodedSize(version) == reply.encoded(version).count, "\(reply) \(version)")
            // RESP2 is never shorter: a size checked in RESP2 bounds both (BoundedReply relies on it).
            #expect(reply.encodedSize(.resp2) >= reply.encodedSize(version))
        }
    }

    @Test func decoderReadsResp3Back() throws {
        let bytes = Self.samples.flatMap { $0.encoded(.resp3) }
        let decoded = try decodeReplies([bytes])
        // `_` is read as the null bulk string whichever null was sent.
        let expected = Self.samples.map { $0 == .nullArray ? Reply.null : $0 }
        #expect(decoded.count == expected.count)
        for (got, want) in zip(decoded, expected) {
            if case .double(let value) = want, value.isNaN { continue }
            #expect(got == want)
        }
        // Byte by byte, as a slow socket delivers it.
        #expect(try decodeReplies(bytes.map { [$0] }).count == expected.count)
    }

    @Test func decoderReadsOtherResp3Types() throws {
        #expect(
            try decodeReplies("(3492890328409238509324850943850943825024385\r\n") == [
                .bulk("3492890328409238509324850943850943825024385")
            ])
        #expect(try decodeReplies("=15\r\ntxt:Some string\r\n") == [.bulk("Some string")])
        #expect(
            try decodeReplies("!21\r\nSYNTAX invalid syntax\r\n") == [.error(code: "SYNTAX", message: "invalid syntax")]
        )
        #expect(try decodeReplies(",1e-05\r\n,-inf\r\n") == [.double(1e-05), .double(-.infinity)])
    }

    @Test(arguments: ["#x\r\n", "_x\r\n", ",abc\r\n", "%-1\r\n", "~-1\r\n", "|1\r\n"])
    func decoderRefusesMalformedResp3(_ text: String) {
        #expect(throws: ProtocolError.self) { try decodeReplies(text) }
    }
}

/// The encoder the server writes into its outbound buffer with: raw memory sized by `encodedSize`.
struct ReplyRawEncodingTests {
    @Test(arguments: ProtocolVersion.allCases) func writesExactlyItsSizeIntoMemory(_ version: ProtocolVersion) {
        for reply in ReplyRESP3Tests.samples + [.simple("a\r\nb"), .error(code: "E", message: "x"), .integer(.min)] {
            let size = reply.encodedSize(version)
            var memory = [UInt8](repeating: 0xEE, count: size + 8)
            let written = memory.withUnsafeMutableBytes { reply.encode(into: $0, size: size, version: version) }
            #expect(written == size)
            #expect(Array(memory[..<size]) == reply.encoded(version), "\(reply)")
            #expect(memory[size...].allSatisfy { $0 == 0xEE }, "nothing written past the reply")
        }
    }
}
