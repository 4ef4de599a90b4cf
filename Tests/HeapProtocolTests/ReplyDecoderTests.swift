import HeapProtocol
import Testing

/// Feeds chunks to a `ReplyDecoder` the way a client does: keep unconsumed bytes, append, decode until nil.
func decodeReplies(_ chunks: [[UInt8]], decoder: ReplyDecoder = ReplyDecoder()) throws(ProtocolError) -> [Reply] {
    var decoder = decoder
    var buffer: [UInt8] = []
    var replies: [Reply] = []
    for chunk in chunks {
        buffer += chunk
        while true {
            let result = buffer.withUnsafeBytes { bytes in
                Result { () throws(ProtocolError) in try decoder.decode(bytes) }
            }
            guard let (reply, consumed) = try result.get() else {
                break
            }
            precondition(consumed > 0 && consumed <= buffer.count)
            replies.append(reply)
            buffer.removeFirst(consumed)
        }
    }
    return replies
}

func decodeReplies(_ text: String) throws(ProtocolError) -> [Reply] {
    try decodeReplies([Array(text.utf8)])
}

struct ReplyDecoderTests {
    @Test func scalars() throws {
        #expect(try decodeReplies("+OK\r\n") == [.ok])
        #expect(try decodeReplies("+\r\n") == [.simple("")])
        #expect(try decodeReplies("-ERR no such key\r\n") == [.error(code: "ERR", message: "no such key")])
        #expect(try decodeReplies("-WRONGTYPE\r\n") == [.error(code: "WRONGTYPE", message: "")])
        #expect(try decodeReplies(":42\r\n:-7\r\n:0\r\n") == [.integer(42), .integer(-7), .integer(0)])
        #expect(try decodeReplies(":-9223372036854775808\r\n") == [.integer(.min)])
        #expect(try decodeReplies("$5\r\nhello\r\n$0\r\n\r\n") == [.bulk("hello"), .bulk([])])
        #expect(try decodeReplies("$-1\r\n*-1\r\n*0\r\n") == [.null, .nullArray, .array([])])
    }

    @Test func bulkIsBinarySafe() throws {
        let bytes: [UInt8] = Array("$4\r\n".utf8) + [0x0D, 0x0A, 0x00, 0xFF] + Array("\r\n".utf8)
        #expect(try decodeReplies([bytes]) == [.bulk([0x0D, 0x0A, 0x00, 0xFF])])
    }

    @Test func nestedArrays() throws {
        let text = "*3\r\n:1\r\n*2\r\n$1\r\na\r\n*1\r\n*0\r\n+OK\r\n"
        #expect(try decodeReplies(text) == [.array([.integer(1), .array([.bulk("a"), .array([.array([])])]), .ok])])
    }

    @Test func incompleteReplyReturnsNil() throws {
        #expect(try decodeReplies("*2\r\n:1\r\n") == [])
        #expect(try decodeReplies("$5\r\nhel") == [])
        #expect(try decodeReplies("+OK\r") == [])
    }

    @Test func consumesExactlyOneReply() throws {
        var decoder = ReplyDecoder()
        let bytes = Array("+OK\r\n:1\r\n".utf8)
        let result = try bytes.withUnsafeBytes { bytes in
            Result { () throws(ProtocolError) in try decoder.decode(bytes) }
        }.get()
        #expect(result?.0 == .ok)
        #expect(result?.consumed == 5)
    }

    @Test(arguments: [
        ("?\r\n", ProtocolError.invalidReplyType(found: UInt8(ascii: "?"))),
        (":abc\r\n", .invalidInteger),
        (":9223372036854775808\r\n", .invalidInteger),
        ("$x\r\n", .invalidBulkLength),
        ("$-2\r\n", .invalidBulkLength),
        ("$3\r\nabcd\r\n", .expectedCRLF),
        ("+OK\rx", .expectedCRLF),
        ("*x\r\n", .invalidMultibulkLength),
        ("*-2\r\n", .invalidMultibulkLength),
        ("*1\r\n@\r\n", .invalidReplyType(found: UInt8(ascii: "@"))),
    ])
    func malformedRepliesThrow(_ input: String, _ error: ProtocolError) {
        #expect(throws: error) { try decodeReplies(input) }
        // Chunking must not change which error is found.
        #expect(throws: error) { try decodeReplies(Array(input.utf8).map { [$0] }) }
    }

    @Test func limits() {
        let limits = ProtocolLimits(maxLineLength: 4, maxArguments: 1, maxBulkLength: 3)
        let decoder = ReplyDecoder(limits: limits, maxDepth: 2)
        #expect(throws: ProtocolError.lineTooLong(limit: 4)) {
            try decodeReplies([Array("+abcde\r\n".utf8)], decoder: decoder)
        }
        #expect(throws: ProtocolError.lineTooLong(limit: 4)) {
            try decodeReplies([Array("+abcde".utf8)], decoder: decoder)
        }
        #expect(throws: ProtocolError.bulkTooLong(limit: 3)) {
            try decodeReplies([Array("$4\r\n".utf8)], decoder: decoder)
        }
        #expect(throws: ProtocolError.nestingTooDeep(limit: 2)) {
            try decodeReplies([Array("*1\r\n*1\r\n*1\r\n".utf8)], decoder: decoder)
        }
        // Arrays longer than maxArguments are fine: replies are not requests.
        #expect(
            (try? decodeReplies([Array("*2\r\n*1\r\n:1\r\n:2\r\n".utf8)], decoder: decoder)) == [
                .array([.array([.integer(1)]), .integer(2)])
            ])
    }

    @Test func decoderResetsAfterAnError() throws {
        var decoder = ReplyDecoder()
        let bad = Array("*2\r\n:1\r\n?".utf8)
        #expect(throws: ProtocolError.invalidReplyType(found: UInt8(ascii: "?"))) {
            _ = try bad.withUnsafeBytes { bytes in
                Result { () throws(ProtocolError) in try decoder.decode(bytes) }
            }.get()
        }
        let good = Array(":5\r\n".utf8)
        let result = try good.withUnsafeBytes { bytes in
            Result { () throws(ProtocolError) in try decoder.decode(bytes) }
        }.get()
        #expect(result?.0 == .integer(5))
    }

    @Test func shorterInputThanBeforeRestartsInsteadOfCrashing() throws {
        var decoder = ReplyDecoder()
        let partial = Array("*2\r\n:1\r\n".utf8)
        let first = try partial.withUnsafeBytes { bytes in
            Result { () throws(ProtocolError) in try decoder.decode(bytes) }
        }.get()
        #expect(first == nil)
        let other = Array(":7\r\n".utf8)
        let second = try other.withUnsafeBytes { bytes in
            Result { () throws(ProtocolError) in try decoder.decode(bytes) }
        }.get()
        #expect(second?.0 == .integer(7))
    }
}
