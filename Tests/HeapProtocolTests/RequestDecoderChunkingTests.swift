import HeapProtocol
import Testing

/// The decoder must not care how the network chunked the stream: every split must give the same events.
struct RequestDecoderChunkingTests {
    static let small = ProtocolLimits(maxLineLength: 10, maxArguments: 3, maxBulkLength: 6)

    static let inputs: [String] = [
        "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n*1\r\n$4\r\nPING\r\n",
        "*2\r\n$4\r\nECHO\r\n$6\r\na\r\nb\r\n\r\n",
        "*0\r\n*-1\r\nPING\r\n\r\n\n  \r\nset k \"a b\"\n",
        "echo \"x\\\"y\\x41\" 'it\\'s'\r\nPING\n",
        "echo \"oops\nPING\n",
        "0123456789\r\n01234567890\r\nok\n",
        "0123456789\rx\nok\n",
        "a very long line that is over the limit\nPING\n",
        "a b c d\na b c\n",
        "*2\r\n$1\r\na\r\n$7\r\n",
        "*1\r\n$3\r\nabcX",
        "PING\n*1\r\nx",
        "*4\r\n",
        "*1\r\n$0\r\n\r\n*1\r\n$6\r\n\0\u{01}\r\n\r\r\n",
    ]

    @Test(arguments: inputs)
    func everySingleSplitPoint(_ input: String) {
        let bytes = Array(input.utf8)
        let expected = decodeEvents([bytes], limits: Self.small)
        for offset in 0...bytes.count {
            let events = decodeEvents(split(bytes, at: [offset]), limits: Self.small)
            #expect(events == expected, "split at \(offset)")
        }
    }

    @Test(arguments: inputs)
    func everyPairOfSplitPoints(_ input: String) {
        let bytes = Array(input.utf8)
        let expected = decodeEvents([bytes], limits: Self.small)
        for first in 0...bytes.count {
            for second in first...bytes.count {
                let events = decodeEvents(split(bytes, at: [first, second]), limits: Self.small)
                #expect(events == expected, "split at \(first), \(second)")
            }
        }
    }

    @Test(arguments: inputs)
    func byteByByte(_ input: String) {
        let bytes = Array(input.utf8)
        let expected = decodeEvents([bytes], limits: Self.small)
        #expect(decodeEvents(bytes.map { [$0] }, limits: Self.small) == expected)
    }

    @Test func expectedEventsForTheFixtures() {
        // Pin a few of the reference results, so chunk-invariance is not trivially satisfied by wrong output.
        #expect(
            decodeEvents([Array(Self.inputs[0].utf8)], limits: Self.small) == [
                .request("SET", "k", "hello"), .request("PING"),
            ]
        )
        #expect(
            decodeEvents([Array(Self.inputs[5].utf8)], limits: Self.small) == [
                .request("0123456789"), .failure(.lineTooLong(limit: 10)), .request("ok"),
            ]
        )
        #expect(
            decodeEvents([Array(Self.inputs[6].utf8)], limits: Self.small) == [
                .failure(.lineTooLong(limit: 10)), .request("ok"),
            ]
        )
        #expect(
            decodeEvents([Array(Self.inputs[8].utf8)], limits: Self.small) == [
                .failure(.tooManyInlineArguments(limit: 3)), .request("a", "b", "c"),
            ]
        )
        #expect(decodeEvents([Array(Self.inputs[9].utf8)], limits: Self.small) == [.failure(.bulkTooLong(limit: 6))])
    }
}
