import HeapProtocol
import Testing

struct RequestDecoderMultibulkTests {
    @Test func simpleCommand() {
        #expect(decodeEvents("*1\r\n$4\r\nPING\r\n") == [.request("PING")])
    }

    @Test func binarySafeArguments() {
        let value: [UInt8] = [0x61, 0x0D, 0x0A, 0x00, 0xFF, 0x2A]
        let input = Array("*3\r\n$3\r\nSET\r\n$0\r\n\r\n$6\r\n".utf8) + value + Array("\r\n".utf8)
        #expect(decodeEvents([input]) == [.request(Request(arguments: [Array("SET".utf8), [], value]))])
    }

    @Test func emptyMultibulkIsSkipped() {
        #expect(decodeEvents("*0\r\n*-1\r\n*-5\r\n*1\r\n$4\r\nPING\r\n") == [.request("PING")])
    }

    @Test func pipelinedRequests() {
        let input = "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*2\r\n$3\r\nGET\r\n$1\r\nb\r\n"
        #expect(decodeEvents(input) == [.request("GET", "a"), .request("GET", "b")])
    }

    @Test func incompleteRequestWaits() {
        #expect(decodeEvents("*2\r\n$3\r\nGET\r\n$1\r\na\r") == [])
        #expect(decodeEvents("*2\r\n$3\r\nGE") == [])
        #expect(decodeEvents("*") == [])
    }

    @Test(arguments: [
        ("*x\r\n", ProtocolError.invalidMultibulkLength),
        ("*\r\n", .invalidMultibulkLength),
        ("*01\r\n", .invalidMultibulkLength),
        ("*-0\r\n", .invalidMultibulkLength),
        ("*1\n", .invalidMultibulkLength),
        ("*1\r\r", .invalidMultibulkLength),
        ("*1 \r\n", .invalidMultibulkLength),
        ("*99999999999999999999\r\n", .invalidMultibulkLength),
        ("*1\r\nx", .expectedDollar(found: UInt8(ascii: "x"))),
        ("*1\r\n\r\n", .expectedDollar(found: 0x0D)),
        ("*1\r\n$-1\r\n", .invalidBulkLength),
        ("*1\r\n$abc\r\n", .invalidBulkLength),
        ("*1\r\n$\r\n", .invalidBulkLength),
        ("*1\r\n$3\r\nabcX", .expectedCRLF),
        ("*1\r\n$3\r\nabc\rX", .expectedCRLF),
        ("*1\r\n$3\r\nabc\n", .expectedCRLF),
        ("*1025\r\n", .tooManyArguments(limit: 1024)),
        ("*1\r\n$536870913\r\n", .bulkTooLong(limit: 536_870_912)),
    ])
    func framingErrorsClose(_ input: String, _ error: ProtocolError) {
        #expect(decodeEvents(input) == [.failure(error)])
        #expect(error.closesConnection)
    }

    @Test func failedDecoderStaysFailed() {
        var decoder = RequestDecoder()
        let bad = Array("*x\r\n".utf8)
        #expect(bad.withUnsafeBytes { decoder.decode($0) } == .failure(.invalidMultibulkLength, consumed: 4))
        let good = Array("*1\r\n$4\r\nPING\r\n".utf8)
        #expect(good.withUnsafeBytes { decoder.decode($0) } == .failure(.invalidMultibulkLength, consumed: 14))
    }

    @Test func requestReportsExactConsumption() {
        var decoder = RequestDecoder()
        let input = Array("*1\r\n$4\r\nPING\r\nrest".utf8)
        #expect(input.withUnsafeBytes { decoder.decode($0) } == .request(Request(["PING"]), consumed: 14))
    }

    @Test func partialInputIsAbsorbed() {
        var decoder = RequestDecoder()
        let first = Array("*1\r\n$4\r\nPI".utf8)
        #expect(first.withUnsafeBytes { decoder.decode($0) } == .needMoreData(consumed: first.count))
        let second = Array("NG\r\n".utf8)
        #expect(second.withUnsafeBytes { decoder.decode($0) } == .request(Request(["PING"]), consumed: 4))
    }
}
