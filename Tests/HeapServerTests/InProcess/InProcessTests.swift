import HeapProtocol
import HeapdTesting
import XCTest

/// The request path in memory: bytes into the real connection handler, replies out, the heap checked
/// after every test. Faster and more exact than a socket (a burst is exactly one read), so the framing
/// of replies to pipelined and inline requests is asserted byte for byte here.
final class InProcessTests: XCTestCase {
    private var server: EmbeddedServer!

    override func setUpWithError() throws {
        server = EmbeddedServer()
    }

    override func tearDownWithError() throws {
        defer { server = nil }
        try server.finish()
    }

    func testPingAnswersPongInBothForms() throws {
        let client = try server.connect()
        XCTAssertEqual(try client.call("PING"), .simple("PONG"))
        try client.send("PING\r\n")
        XCTAssertEqual(try client.replies(), [.simple("PONG")])
        try client.send("ping hello\n")
        XCTAssertEqual(try client.replies(), [.bulk(Array("hello".utf8))])
    }

    func testNewObjectCountsTheReferenceOfItsName() throws {
        let client = try server.connect()
        XCTAssertEqual(try client.call("NEW", "a", "list"), .simple("OK"))
        // The name's reference, and the one getrefcount's own argument holds (as CPython counts).
        XCTAssertEqual(try client.call("GETREFCOUNT", "a"), .integer(2))
        XCTAssertEqual(try client.call("SET", "b", "a"), .simple("OK"))
        XCTAssertEqual(try client.call("GETREFCOUNT", "a"), .integer(3))
        XCTAssertEqual(try client.call("DEL", "b"), .integer(1))
        XCTAssertEqual(try client.call("GETREFCOUNT", "a"), .integer(2))
    }

    func testErrorsAreTypedRepliesAndTheConnectionGoesOn() throws {
        let client = try server.connect()
        XCTAssertErrorCode(try client.call("GETREFCOUNT", "nobody"), "NOVAR")
        XCTAssertErrorCode(try client.call("NOSUCHCOMMAND"), "UNKNOWN")
        try client.send("PING \"unbalanced\n")
        guard let framing = try client.replies().first else { return XCTFail("no reply to a broken inline line") }
        XCTAssertErrorCode(framing, "SYNTAX")
        XCTAssertEqual(try client.call("PING"), .simple("PONG"), "the stream is still in sync")
    }

    func testAPipelinedBatchIsAnsweredInOrderWithOneReplyEach() throws {
        let client = try server.connect()
        var batch: [UInt8] = []
        Request(["NEW", "l", "list"]).encode(into: &batch)
        for index in 0..<100 {
            Request(["NEW", "s\(index)", "str", "item \(index)"]).encode(into: &batch)
            Request(["APPEND", "l", "s\(index)"]).encode(into: &batch)
        }
        batch += Array("LEN l\r\nGETREFCOUNT s7\r\n".utf8)
        try client.send(batch)
        let replies = try client.replies()
        XCTAssertEqual(replies.count, 1 + 200 + 2)
        XCTAssertEqual(replies.first, .simple("OK"))
        for index in 0..<100 {
            XCTAssertEqual(replies[1 + 2 * index], .simple("OK"))
            XCTAssertEqual(replies[2 + 2 * index], .integer(Int64(index + 1)), "APPEND returns the new length")
        }
        XCTAssertEqual(replies[201], .integer(100))
        XCTAssertEqual(replies[202], .integer(3), "s7: its name, the list's slot, getrefcount's argument")
    }

    func testClientsShareTheGlobalsButNotTheirLocals() throws {
        let first = try server.connect()
        let second = try server.connect()
        XCTAssertEqual(try first.call("NEW", "g.shared", "dict"), .simple("OK"))
        XCTAssertEqual(try first.call("NEW", "mine", "list"), .simple("OK"))
        XCTAssertEqual(try second.call("GETREFCOUNT", "g.shared"), .integer(2))
        XCTAssertErrorCode(try second.call("GETREFCOUNT", "mine"), "NOVAR")
    }
}
