import HeapProtocol
import NIOCore
import XCTest

@testable import HeapServer

/// The queue of a connection's decoded requests: framed requests read where they arrived, copied ones
/// from the queue's own bytes, in order; and a view a command keeps stays intact whatever the connection
/// does next with its buffer and the queue.
final class RequestQueueTests: XCTestCase {
    private func words(_ arguments: Arguments) -> [String] { (0..<arguments.count).map { arguments[$0] } }

    /// Queues every request of `buffer` as the connection does (without running any in between);
    /// returns the errors met.
    @discardableResult
    private func decodeAll(
        _ buffer: inout ByteBuffer, _ decoder: inout RequestDecoder, into queue: inout RequestQueue
    ) -> [ProtocolError] {
        var errors: [ProtocolError] = []
        while buffer.readableBytes > 0 {
            // Small batches, so that a buffer takes several, as a long pipeline does.
            if let error = queue.decodeBatch(from: &buffer, with: &decoder, upTo: 2) { errors.append(error) }
        }
        return errors
    }

    func testFramedAndCopiedRequestsComeOutInOrder() {
        var decoder = RequestDecoder()
        var queue = RequestQueue()
        // The first request arrives in two reads (copied by the decoder), the others whole (framed).
        var buffer = ByteBuffer(string: "*2\r\n$4\r\nECHO\r\n$2\r\nh")
        decodeAll(&buffer, &decoder, into: &queue)
        XCTAssertTrue(queue.isEmpty)
        buffer.writeString("i\r\nPING\r\n*2\r\n$11\r\nGETREFCOUNT\r\n$3\r\ng.x\r\necho \"a b\" c\n")
        XCTAssertEqual(decodeAll(&buffer, &decoder, into: &queue), [])
        var taken: [[String]] = []
        while !queue.isEmpty { taken.append(words(queue.take())) }
        XCTAssertEqual(taken, [["ECHO", "hi"], ["PING"], ["GETREFCOUNT", "g.x"], ["echo", "a b", "c"]])
        let arguments = Arguments([Array("GC".utf8), Array("COLLECT".utf8), Array("2".utf8)])
        XCTAssertEqual(words(arguments.dropFirst(2)), ["2"])
        XCTAssertEqual(words(arguments.dropLast()), ["GC", "COLLECT"])
        XCTAssertEqual(arguments.raw[1], Array("COLLECT".utf8))
    }

    /// A view kept past its batch (a command that keeps its arguments) reads the same bytes after the
    /// queue took the next batch and the connection overwrote its buffer.
    func testAKeptViewOutlivesItsBatchAndTheBuffer() {
        var decoder = RequestDecoder()
        var queue = RequestQueue()
        var buffer = ByteBuffer(string: "*2\r\n$4\r\nECHO\r\n$5\r\nfirst\r\nPING one\n")
        decodeAll(&buffer, &decoder, into: &queue)
        let kept = queue.take()
        let keptInline = queue.take()
        XCTAssertTrue(queue.isEmpty)
        queue.reset()
        // The connection reuses its buffer: cleared and written over (a copy, since the views share it).
        buffer.clear()
        buffer.writeString("*2\r\n$4\r\nECHO\r\n$5\r\nXXXXX\r\nPING two\nPING three\n")
        decodeAll(&buffer, &decoder, into: &queue)
        XCTAssertEqual(words(queue.take()), ["ECHO", "XXXXX"])
        XCTAssertEqual(words(kept), ["ECHO", "first"])
        XCTAssertEqual(words(keptInline), ["PING", "one"])
        XCTAssertEqual(words(queue.take()), ["PING", "two"])
        XCTAssertEqual(words(queue.take()), ["PING", "three"])
        XCTAssertEqual(words(kept.dropFirst()), ["first"])
    }

    /// Batch after batch over new buffers, every view read and dropped before the next, as the
    /// connection does: each batch reads its own buffer.
    func testEachBatchReadsItsOwnBuffer() {
        var decoder = RequestDecoder()
        var queue = RequestQueue()
        for round in 0..<4 {
            var buffer = ByteBuffer(string: String(repeating: "x", count: round * 7))
            buffer.moveReaderIndex(forwardBy: round * 7)
            buffer.writeString("*2\r\n$4\r\nECHO\r\n$2\r\nr\(round)\r\nPING \(round)\n")
            XCTAssertNil(queue.decodeBatch(from: &buffer, with: &decoder, upTo: 64))
            XCTAssertEqual(words(queue.take()), ["ECHO", "r\(round)"])
            XCTAssertEqual(words(queue.take()), ["PING", "\(round)"])
            queue.reset()
        }
        // And more requests than a batch takes, from one buffer.
        var buffer = ByteBuffer(string: (0..<5).map { "ECHO \($0)\n" }.joined())
        for expected in 0..<5 {
            if queue.isEmpty { XCTAssertNil(queue.decodeBatch(from: &buffer, with: &decoder, upTo: 2)) }
            XCTAssertEqual(words(queue.take()), ["ECHO", "\(expected)"])
        }
    }

    func testAFramingErrorStopsTheBatchAfterTheRequestsBeforeIt() {
        var decoder = RequestDecoder()
        var queue = RequestQueue()
        var buffer = ByteBuffer(string: "PING\n*1\r\n$4\r\nPING\r\n*1\r\nxPING\r\n")
        let error = queue.decodeBatch(from: &buffer, with: &decoder, upTo: 64)
        XCTAssertEqual(error, .expectedDollar(found: UInt8(ascii: "x")))
        XCTAssertEqual(words(queue.take()), ["PING"])
        XCTAssertEqual(words(queue.take()), ["PING"])
        XCTAssertTrue(queue.isEmpty)
    }

    func testRemoveAllDropsTheRequests() {
        var decoder = RequestDecoder()
        var queue = RequestQueue()
        var buffer = ByteBuffer(string: "PING\nPING\n")
        decodeAll(&buffer, &decoder, into: &queue)
        XCTAssertFalse(queue.isEmpty)
        queue.removeAll()
        XCTAssertTrue(queue.isEmpty)
        buffer.writeString("ECHO x\n")
        decodeAll(&buffer, &decoder, into: &queue)
        XCTAssertEqual(words(queue.take()), ["ECHO", "x"])
    }
}
