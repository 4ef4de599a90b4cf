import HeapProtocol
import Testing

struct RequestDecoderLimitTests {
    let small = ProtocolLimits(maxLineLength: 8, maxArguments: 2, maxBulkLength: 4)

    @Test func lineAtTheLimitIsAccepted() {
        #expect(decodeEvents("ECHO 123\n", limits: small) == [.request("ECHO", "123")])
        #expect(decodeEvents("ECHO 123\r\n", limits: small) == [.request("ECHO", "123")])
        #expect(decodeEvents([Array("ECHO 123\r".utf8), Array("\n".utf8)], limits: small) == [.request("ECHO", "123")])
    }

    @Test func overLongLineIsReportedOnceThenDiscarded() {
        let events = decodeEvents("ECHO 1234 and more\nPING\n", limits: small)
        #expect(events == [.failure(.lineTooLong(limit: 8)), .request("PING")])
        #expect(!ProtocolError.lineTooLong(limit: 8).closesConnection)
    }

    @Test func overLongLineWithoutNewlineIsReportedEarlyAndOnce() {
        let chunks = [Array(repeating: UInt8(ascii: "x"), count: 20), Array(repeating: UInt8(ascii: "y"), count: 50)]
        #expect(decodeEvents(chunks, limits: small) == [.failure(.lineTooLong(limit: 8))])
        let resumed = chunks + [Array("zz\nPING\n".utf8)]
        #expect(decodeEvents(resumed, limits: small) == [.failure(.lineTooLong(limit: 8)), .request("PING")])
    }

    @Test func carriageReturnPastTheLimitMustBeFollowedByNewline() {
        let events = decodeEvents([Array("ECHO 123\r".utf8), Array("x\nPING\n".utf8)], limits: small)
        #expect(events == [.failure(.lineTooLong(limit: 8)), .request("PING")])
    }

    @Test func discardingConsumesWithoutWaitingForTheCaller() {
        var decoder = RequestDecoder(limits: small)
        let long = Array(repeating: UInt8(ascii: "x"), count: 12)
        #expect(long.withUnsafeBytes { decoder.decode($0) } == .failure(.lineTooLong(limit: 8), consumed: 12))
        #expect(long.withUnsafeBytes { decoder.decode($0) } == .needMoreData(consumed: 12))
        let end = Array("x\nPING\n".utf8)
        #expect(end.withUnsafeBytes { decoder.decode($0) } == .request(Request(["PING"]), consumed: 7))
    }

    @Test func tooManyInlineArgumentsKeepsTheConnection() {
        let events = decodeEvents("a b c\na b\n", limits: small)
        #expect(events == [.failure(.tooManyInlineArguments(limit: 2)), .request("a", "b")])
    }

    @Test func tooManyMultibulkArgumentsCloses() {
        #expect(decodeEvents("*3\r\n", limits: small) == [.failure(.tooManyArguments(limit: 2))])
        #expect(decodeEvents("*2\r\n$1\r\na\r\n$1\r\nb\r\n", limits: small) == [.request("a", "b")])
    }

    @Test func bulkLengthLimit() {
        #expect(decodeEvents("*1\r\n$5\r\n", limits: small) == [.failure(.bulkTooLong(limit: 4))])
        #expect(decodeEvents("*1\r\n$4\r\nabcd\r\n", limits: small) == [.request("abcd")])
    }

    @Test func hugeLimitsDoNotOverflow() {
        let huge = ProtocolLimits(maxLineLength: .max, maxArguments: .max, maxBulkLength: .max)
        #expect(decodeEvents("PING", limits: huge) == [])
        #expect(decodeEvents("PING\n*1\r\n$1\r\nx\r\n", limits: huge) == [.request("PING"), .request("x")])
    }

    @Test func zeroLimitsRejectEverythingWithoutCrashing() {
        let zero = ProtocolLimits(maxLineLength: 0, maxArguments: 0, maxBulkLength: 0)
        #expect(decodeEvents("\nPING\n", limits: zero) == [.failure(.lineTooLong(limit: 0))])
        #expect(decodeEvents("*1\r\n", limits: zero) == [.failure(.tooManyArguments(limit: 0))])
    }
}
