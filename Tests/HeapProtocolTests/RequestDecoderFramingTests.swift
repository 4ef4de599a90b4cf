import HeapProtocol
import Testing

/// `frame(_:into:)`, the server's path: a complete plain request is handed out as spans over the caller's
/// bytes, anything else goes to `decode(_:)`, and either way the events are those of `decode(_:)`.
struct RequestDecoderFramingTests {
    /// Frames `input` once from its start.
    private func frame(_ input: String, limits: ProtocolLimits = .default) -> (FrameStep, [String]) {
        var decoder = RequestDecoder(limits: limits)
        var spans: [ArgumentSpan] = []
        let bytes = Array(input.utf8)
        let step = bytes.withUnsafeBytes { decoder.frame($0, into: &spans) }
        return (step, spans.map { String(decoding: bytes[$0.start..<$0.start + $0.count], as: UTF8.self) })
    }

    @Test func aMultibulkRequestIsFramedWhereItLies() {
        let (step, words) = frame("*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n*1\r\n")
        #expect(step == .framed(arguments: 2, consumed: 25))
        #expect(words == ["ECHO", "hello"])
    }

    @Test func anInlineLineOfPlainWordsIsFramed() {
        let (step, words) = frame("GETREFCOUNT \tg.x\r\nPING\n")
        #expect(step == .framed(arguments: 2, consumed: 18))
        #expect(words == ["GETREFCOUNT", "g.x"])
    }

    @Test func anEmptyBulkAndBinaryBytesAreFramed() {
        let (step, words) = frame("*3\r\n$3\r\nNEW\r\n$0\r\n\r\n$2\r\n\r\n\r\n")
        #expect(step == .framed(arguments: 3, consumed: 27))
        #expect(words == ["NEW", "", "\r\n"])
    }

    /// What is not a complete plain request is decoded, with the very step `decode(_:)` gives.
    @Test(arguments: [
        "*2\r\n$4\r\nECHO\r\n$5\r\nhel",  // incomplete
        "*0\r\nPING\n",  // an empty request, skipped
        "*01\r\n$4\r\nPING\r\n",  // a leading zero: an error
        "*1\r\n$04\r\nPING\r\n",
        "*-1\r\n",
        "*1\r\n$4\r\nPINGx\n",  // no CRLF after the data
        "*1\r\n+4\r\nPING\r\n",  // no `$`
        "*1\r\n$4\n",
        "echo \"a b\"\n",  // quoted
        "echo 'a'\n",
        "\r\n",  // blank
        "   \n",
        "PING",  // no newline yet
        "*9999999999\r\n",  // past any limit
    ])
    func anythingElseIsDecoded(_ input: String) {
        var decoder = RequestDecoder()
        let bytes = Array(input.utf8)
        let expected = bytes.withUnsafeBytes { decoder.decode($0) }
        let (step, words) = frame(input)
        #expect(step == .decoded(expected))
        #expect(words.isEmpty)
    }

    @Test func limitsSendARequestToTheDecoderWhichReportsThem() {
        let small = ProtocolLimits(maxLineLength: 8, maxArguments: 2, maxBulkLength: 3)
        for input in ["*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", "*1\r\n$4\r\nPING\r\n", "a b c\n", "123456789\n"] {
            var decoder = RequestDecoder(limits: small)
            let bytes = Array(input.utf8)
            let expected = bytes.withUnsafeBytes { decoder.decode($0) }
            guard case .failure = expected else {
                Issue.record("\(input.debugDescription) should fail")
                continue
            }
            #expect(frame(input, limits: small).0 == .decoded(expected), "\(input.debugDescription)")
        }
    }

    /// Framed or decoded, split anywhere: the same events.
    @Test(arguments: RequestDecoderChunkingTests.inputs)
    func framingGivesTheEventsOfDecodingAtEverySplitPoint(_ input: String) {
        let small = RequestDecoderChunkingTests.small
        let bytes = Array(input.utf8)
        let expected = decodeEvents([bytes], limits: small)
        for offset in 0...bytes.count {
            #expect(
                decodeEvents(split(bytes, at: [offset]), limits: small, inPlace: true) == expected, "split at \(offset)"
            )
        }
        #expect(decodeEvents(bytes.map { [$0] }, limits: small, inPlace: true) == expected)
        #expect(decodeEvents([bytes], limits: .default, inPlace: true) == decodeEvents([bytes]))
    }
}
