import HeapProtocol
import HeapdTesting
import Testing

/// Replies must decode identically however the stream is chunked, and every encodable reply must survive
/// an encode/decode round trip.
struct ReplyDecoderChunkingTests {
    static let replies: [Reply] = [
        .ok,
        .error(code: "ERR", message: "wrong number of arguments"),
        .integer(-12345),
        .bulk([0x0D, 0x0A, 0x00, 0xFF]),
        .null,
        .array([.integer(1), .array([.bulk("a"), .null, .array([])]), .nullArray, .simple("PONG")]),
        .bulk("last"),
    ]

    static var stream: [UInt8] {
        replies.flatMap(\.encoded)
    }

    @Test func everySingleSplitPoint() throws {
        let bytes = Self.stream
        for offset in 0...bytes.count {
            #expect(try decodeReplies(split(bytes, at: [offset])) == Self.replies, "split at \(offset)")
        }
    }

    @Test func everyPairOfSplitPoints() throws {
        let bytes = Self.stream
        for first in stride(from: 0, through: bytes.count, by: 1) {
            for second in first...bytes.count {
                #expect(try decodeReplies(split(bytes, at: [first, second])) == Self.replies)
            }
        }
    }

    @Test func byteByByte() throws {
        #expect(try decodeReplies(Self.stream.map { [$0] }) == Self.replies)
    }

    static func randomReply(depth: Int, using generator: inout SeededGenerator) -> Reply {
        let words = ["", "OK", "PONG", "hello world", "é"]
        switch Int.random(in: 0...(depth < 4 ? 7 : 6), using: &generator) {
        case 0: return .simple(words.randomElement(using: &generator)!)
        case 1:
            return .error(
                code: "E\(Int.random(in: 0...9, using: &generator))", message: words.randomElement(using: &generator)!)
        case 2: return .integer(Int64.random(in: .min ... .max, using: &generator))
        case 3:
            let count = Int.random(in: 0...40, using: &generator)
            return .bulk((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
        case 4: return .null
        case 5: return .nullArray
        case 6: return .array([])
        default:
            let count = Int.random(in: 1...5, using: &generator)
            return .array((0..<count).map { _ in randomReply(depth: depth + 1, using: &generator) })
        }
    }

    @Test func randomRepliesRoundTripUnderRandomChunking() throws {
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<500 {
            let replies = (0..<Int.random(in: 1...5, using: &generator)).map { _ in
                Self.randomReply(depth: 0, using: &generator)
            }
            let bytes = replies.flatMap(\.encoded)
            #expect(try decodeReplies([bytes]) == replies)
            #expect(try decodeReplies(randomChunks(bytes, maxChunk: 9, using: &generator)) == replies)
        }
    }
}
