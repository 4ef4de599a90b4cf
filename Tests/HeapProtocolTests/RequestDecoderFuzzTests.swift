import HeapProtocol
import HeapdTesting
import Testing

/// Seeded random inputs: the decoder must never crash, must always make progress, and must stay
/// chunk-invariant on garbage as well as on well-formed input, framing in place or not.
struct RequestDecoderFuzzTests {
    /// Fragments that steer random input into the decoder's interesting states, mixed with raw random bytes.
    static let fragments: [[UInt8]] = [
        "*", "$", "\r\n", "\r", "\n", "0", "1", "2", "3", "-1", "9", "\"", "'", "\\", "\\x", "4f", " ", "\t", "PING",
        "*1\r\n$4\r\nPING\r\n", "*2\r\n", "$3\r\n", "abc",
    ].map { Array($0.utf8) }

    static func randomInput(using generator: inout SeededGenerator) -> [UInt8] {
        var bytes: [UInt8] = []
        let pieces = Int.random(in: 0...24, using: &generator)
        for _ in 0..<pieces {
            if Bool.random(using: &generator) {
                bytes += fragments.randomElement(using: &generator)!
            } else {
                bytes.append(UInt8.random(in: 0...255, using: &generator))
            }
        }
        return bytes
    }

    @Test(arguments: [
        ProtocolLimits.default,
        ProtocolLimits(maxLineLength: 6, maxArguments: 2, maxBulkLength: 3),
    ])
    func randomInputNeverCrashesAndIsChunkInvariant(_ limits: ProtocolLimits) {
        var generator = SeededGenerator(seed: 0x4865_6170_64)
        for iteration in 0..<3000 {
            let input = Self.randomInput(using: &generator)
            // `decodeEvents` checks progress and bounds on every step.
            let expected = decodeEvents([input], limits: limits)
            let chunks = randomChunks(input, maxChunk: 7, using: &generator)
            #expect(decodeEvents(chunks, limits: limits) == expected, "iteration \(iteration)")
            // The server's path, framing in place, whole and chunked.
            #expect(decodeEvents([input], limits: limits, inPlace: true) == expected, "iteration \(iteration)")
            #expect(decodeEvents(chunks, limits: limits, inPlace: true) == expected, "iteration \(iteration)")
            if iteration % 10 == 0 {
                #expect(decodeEvents(input.map { [$0] }, limits: limits) == expected, "iteration \(iteration)")
            }
        }
    }

    @Test func purelyRandomBytesMakeProgress() {
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<2000 {
            let count = Int.random(in: 0...300, using: &generator)
            let input = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var decoder = RequestDecoder()
            var remaining = input[...]
            decoding: while true {
                let step = Array(remaining).withUnsafeBytes { decoder.decode($0) }
                switch step {
                case .needMoreData(let consumed):
                    #expect(consumed == remaining.count)
                    break decoding
                case .request(_, let consumed):
                    #expect(consumed > 0 && consumed <= remaining.count)
                    remaining = remaining.dropFirst(max(consumed, 1))
                case .failure(let error, let consumed):
                    #expect(consumed > 0 && consumed <= remaining.count)
                    remaining = remaining.dropFirst(max(consumed, 1))
                    if error.closesConnection {
                        break decoding
                    }
                }
            }
        }
    }
}
