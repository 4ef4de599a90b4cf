import Foundation
import HeapClient
import HeapProtocol
import HeapdTesting
import XCTest

/// Client-supplied numbers at their extremes: every one is checked, and a value out of range is an
/// error reply, never a trap (issue 9: `GC GARBAGE CURSOR 9223372036854775807` killed heapd with an
/// arithmetic overflow).
final class ArgumentRangeIntegrationTests: HeapdTestCase {
    static let max = "9223372036854775807"
    static let min = "-9223372036854775808"

    func testCursorsPastTheEndAreEmptyPages() throws {
        let client = try heapd.connect()
        // One uncollectable object in gc.garbage: a self-referencing list with a legacy finalizer.
        _ = try client.pipeline([
            ["NEW", "l", "list"], ["APPEND", "l", "l"], ["FINALIZER", "l", "LEGACY"], ["DEL", "l"],
        ])
        XCTAssertEqual(try client.call("GC", "COLLECT"), .integer(1))
        XCTAssertEqual(try client.call("GC", "GARBAGE", "CURSOR", Self.max), .array([.integer(0), .array([])]))
        XCTAssertEqual(
            try client.call("GC", "GARBAGE", "CURSOR", Self.max, "COUNT", "100000"), .array([.integer(0), .array([])]))
        guard case .array(let page) = try client.call("GC", "GARBAGE", "CURSOR", "0", "COUNT", "1"), page.count == 2,
            case .array(let names) = page[1]
        else { return XCTFail("GC GARBAGE page") }
        XCTAssertEqual(names.count, 1)
        XCTAssertEqual(try client.call("GC", "GET_OBJECTS", "CURSOR", Self.max), .array([.integer(0), .array([])]))
        XCTAssertErrorCode(try client.call("GC", "GARBAGE", "CURSOR", Self.min), "SYNTAX")
        XCTAssertErrorCode(try client.call("GC", "GARBAGE", "COUNT", Self.max), "SYNTAX")
        XCTAssertErrorCode(try client.call("GC", "GARBAGE", "CURSOR", "9223372036854775808"), "SYNTAX")
        XCTAssertEqual(try client.call("GC", "GARBAGE", "CLEAR"), .integer(1))
        XCTAssertEqual(try client.call("GC", "COLLECT"), .integer(1), "cleared garbage is collectable again")
    }

    func testIndexesDepthsAndSizesAtTheExtremes() throws {
        let client = try heapd.connect()
        XCTAssertEqual(try client.call("NEW", "l", "list"), .simple("OK"))
        XCTAssertEqual(try client.call("INSERT", "l", Self.min, "l"), .simple("OK"))
        XCTAssertEqual(try client.call("INSERT", "l", Self.max, "l"), .simple("OK"))
        XCTAssertErrorCode(try client.call("POP", "x", "l", Self.min), "INDEX")
        XCTAssertErrorCode(try client.call("GETITEM", "x", "l", Self.max), "INDEX")
        XCTAssertErrorCode(try client.call("SETITEM", "l", Self.min, "l"), "INDEX")
        XCTAssertErrorCode(try client.call("REPR", "l", Self.max), "SYNTAX")
        XCTAssertErrorCode(try client.call("GRAPH", "l", "DEPTH", Self.max), "SYNTAX")
        XCTAssertErrorCode(try client.call("NEW", "b", "bytes", Self.max), "VALUE")
        XCTAssertErrorCode(try client.call("TRACEMALLOC", "START", Self.max), "VALUE")
        XCTAssertErrorCode(try client.call("GC", "COLLECT", Self.min), "VALUE")
        XCTAssertEqual(try client.call("NEW", "r", "gen", "range", Self.min, Self.max, Self.max), .simple("OK"))
        XCTAssertEqual(try client.call("LIST", "rl", "r"), .integer(3))
        XCTAssertEqual(try client.call("LEN", "rl"), .integer(3), "range(min, max, max) is [min, -1, max - 1]")
        XCTAssertEqual(try client.call("DEL", "l", "r", "rl"), .integer(3))
    }

    /// An error quoting a huge argument stays a short line (the fuzzer found 70 KB `-SYNTAX` lines,
    /// longer than heapd's own client accepts).
    func testErrorsQuotingHugeArgumentsAreCut() throws {
        let client = try heapd.connect()
        XCTAssertEqual(try client.call("NEW", "l", "list"), .simple("OK"))
        let digits = String(repeating: "9", count: 70_000)
        guard case .error(let code, let message) = try client.call("INSERT", "l", digits, "l") else {
            return XCTFail("INSERT with a huge index")
        }
        XCTAssertEqual(code, "SYNTAX")
        XCTAssertLessThan(message.utf8.count, 1_200)
        XCTAssertTrue(message.hasSuffix("(message cut at 1024 of 70026 bytes)"), message)
        XCTAssertEqual(try client.call("PING"), .simple("PONG"), "the connection is still usable")
    }
}
