import HeapProtocol
import XCTest

/// ``RequestDecoder/recycle(_:)``: arrays given back receive later requests, which decode exactly as
/// without it, and a copy of a recycled request kept elsewhere keeps its bytes (value semantics).
final class RequestDecoderRecycleTests: XCTestCase {
    private func decodeAll(_ decoder: inout RequestDecoder, _ text: String, recycling: Bool) -> [Request] {
        var requests: [Request] = []
        var bytes = Array(text.utf8)
        while !bytes.isEmpty {
            let step = bytes.withUnsafeBytes { decoder.decode($0) }
            switch step {
            case .request(let request, let consumed):
                requests.append(request)
                bytes.removeFirst(consumed)
                if recycling { decoder.recycle(request) }
            case .needMoreData(let consumed):
                bytes.removeFirst(consumed)
                if consumed == 0 { return requests }
            case .failure(_, let consumed):
                bytes.removeFirst(consumed)
            }
        }
        return requests
    }

    func testRecycledArraysDecodeTheSameRequests() {
        let stream =
            "*1\r\n$4\r\nPING\r\n*2\r\n$11\r\nGETREFCOUNT\r\n$3\r\ng.x\r\n*4\r\n$3\r\nNEW\r\n$1\r\nx\r\n$3\r\nint\r\n$1\r\n5\r\n"
            + "*3\r\n$4\r\nECHO\r\n$0\r\n\r\n$5\r\nhello\r\nPING inline\r\n"
        var plain = RequestDecoder()
        var reusing = RequestDecoder()
        let expected = decodeAll(&plain, String(repeating: stream, count: 3), recycling: false)
        let got = decodeAll(&reusing, String(repeating: stream, count: 3), recycling: true)
        XCTAssertEqual(got, expected)
        XCTAssertEqual(expected.count, 15)
        XCTAssertEqual(reusing.partialBytes, 0, "nothing held between requests")
    }

    func testACopyKeptElsewhereKeepsItsBytes() {
        var decoder = RequestDecoder()
        var bytes = Array("*2\r\n$4\r\nECHO\r\n$5\r\nfirst\r\n*2\r\n$4\r\nECHO\r\n$6\r\nsecond\r\n".utf8)
        guard case .request(let first, let consumed) = bytes.withUnsafeBytes({ decoder.decode($0) }) else {
            return XCTFail("first request")
        }
        let kept = first
        decoder.recycle(first)
        bytes.removeFirst(consumed)
        guard case .request(let second, _) = bytes.withUnsafeBytes({ decoder.decode($0) }) else {
            return XCTFail("second request")
        }
        XCTAssertEqual(kept, Request(["ECHO", "first"]))
        XCTAssertEqual(second, Request(["ECHO", "second"]))
    }
}
