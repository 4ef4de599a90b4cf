import Foundation
import HeapClient
import HeapProtocol
import HeapdTesting
import XCTest

/// The real heapd over its real socket: sessions, scopes, refcounts as a user sees them.
final class SessionIntegrationTests: HeapdTestCase {
    func testRefcountTourAsInTheExamples() throws {
        let client = try heapd.connect()
        XCTAssertEqual(try client.call("NEW", "a", "list"), .simple("OK"))
        XCTAssertEqual(try client.call("GETREFCOUNT", "a"), .integer(2), "a, plus getrefcount's own argument")
        XCTAssertEqual(try client.call("SET", "b", "a"), .simple("OK"))
        XCTAssertEqual(try client.call("GETREFCOUNT", "a"), .integer(3))
        XCTAssertEqual(try client.call("REFCOUNT", "a"), .integer(2))
        guard case .integer(let id) = try client.call("ID", "a") else { return XCTFail("ID") }
        XCTAssertEqual(try client.call("DEL", "b"), .integer(1))
        XCTAssertEqual(try client.call("GETREFCOUNT", "a"), .integer(2))
        XCTAssertEqual(try client.call("DEL", "a"), .integer(1))
        XCTAssertErrorCode(try client.call("GETREFCOUNT", "#\(id)"), "NOOBJ")
        // A two-object cycle survives its names: refcounting alone cannot free it.
        _ = try client.pipeline([
            ["NEW", "x", "list"], ["NEW", "y", "list"], ["APPEND", "x", "y"], ["APPEND", "y", "x"],
        ])
        guard case .integer(let xid) = try client.call("ID", "x") else { return XCTFail("ID") }
        XCTAssertEqual(try client.call("DEL", "x", "y"), .integer(2))
        XCTAssertEqual(try client.call("REFCOUNT", "#\(xid)"), .integer(1), "kept alive by y's slot only")
        XCTAssertEqual(bulkText(try client.call("REPR", "#\(xid)")), "[[[...]]]")
    }

    func testScopesReleaseLocalsAtPop() throws {
        let client = try heapd.connect()
        let baseline = Int(try info(client, "objects")["objects"]!)!
        XCTAssertEqual(try client.call("SCOPE", "PUSH", "work"), .integer(1))
        _ = try client.pipeline([["NEW", "big", "bytes", "1048576"], ["NEW", "l", "list", "big"]])
        XCTAssertEqual(Int(try info(client, "objects")["objects"]!)!, baseline + 2)
        XCTAssertErrorCode(try client.call("SCOPE", "POP", "extra"), "ARGS")
        XCTAssertEqual(try client.call("SCOPE", "POP"), .integer(2))
        XCTAssertEqual(Int(try info(client, "objects")["objects"]!)!, baseline)
        XCTAssertErrorCode(try client.call("REPR", "big"), "NOVAR")
        XCTAssertErrorCode(try client.call("SCOPE", "POP"), "SCOPE")
    }

    func testGlobalsAreSharedBetweenSessions() throws {
        let first = try heapd.connect()
        let second = try heapd.connect()
        XCTAssertEqual(try first.call("NEW", "g.shared", "dict"), .simple("OK"))
        XCTAssertEqual(try first.call("NEW", "v", "int", "7"), .simple("OK"))
        XCTAssertEqual(try first.call("SETITEM", "g.shared", "k", "v"), .simple("OK"))
        XCTAssertEqual(bulkText(try second.call("GETITEM", "mine", "g.shared", "k")), "7")
        XCTAssertEqual(try second.call("REFCOUNT", "mine"), .integer(3), "v, the dict slot, mine")
        first.close()
        // The server notices the close asynchronously: poll, bounded.
        let deadline = Date().addingTimeInterval(5)
        while try second.call("REFCOUNT", "mine") != .integer(2) && Date() < deadline { usleep(10_000) }
        XCTAssertEqual(try second.call("REFCOUNT", "mine"), .integer(2), "the closed session's v was released")
        XCTAssertEqual(try second.call("DEL", "g.shared"), .integer(1))
        XCTAssertEqual(try second.call("REFCOUNT", "mine"), .integer(1))
    }

    func testEveryTypeAndContainerCommand() throws {
        let client = try heapd.connect()
        let script: [([String], Reply)] = [
            (["NEW", "i", "int", "-5"], .simple("OK")),
            (["NEW", "f", "float", "2.5"], .simple("OK")),
            (["NEW", "s", "str", "héllo"], .simple("OK")),
            (["NEW", "b", "bytes", "DATA", "abc"], .simple("OK")),
            (["NEW", "t", "tuple", "i", "f"], .simple("OK")),
            (["NEW", "l", "list", "i", "s"], .simple("OK")),
            (["NEW", "d", "dict"], .simple("OK")),
            (["NEW", "st", "set", "i", "i"], .simple("OK")),
            (["NEW", "o", "object", "Node"], .simple("OK")),
            (["NEW", "n", "none"], .simple("OK")),
            (["APPEND", "l", "t"], .integer(3)),
            (["INSERT", "l", "0", "n"], .simple("OK")),
            (["SETITEM", "d", "key", "l"], .simple("OK")),
            (["SETATTR", "o", "payload", "d"], .simple("OK")),
            (["ADD", "st", "s"], .simple("OK")),
            (["LEN", "l"], .integer(4)),
            (["LEN", "s"], .integer(5)),
            (["LEN", "st"], .integer(2)),
            (["CONTAINS", "d", "key"], .integer(1)),
            (["CONTAINS", "st", "s"], .integer(1)),
            (["CONTAINS", "l", "f"], .integer(0)),
            (["TYPE", "o"], .simple("Node")),
            (["TYPE", "t"], .simple("tuple")),
            (["REPR", "l"], .bulk("[None, -5, 'héllo', (-5, 2.5)]")),
            (["REPR", "b"], .bulk("b'abc'")),
            (["GETATTR", "p", "o", "payload"], .bulk("{'key': [None, -5, 'héllo', (...)]}")),
            (["POP", "last", "l"], .bulk("(-5, 2.5)")),
            (["GETITEM", "first", "l", "-3"], .bulk("None")),
            (["DELITEM", "l", "0"], .simple("OK")),
            (["DELITEM", "d", "key"], .simple("OK")),
            (["DELATTR", "o", "payload"], .simple("OK")),
            (["DISCARD", "st", "s"], .simple("OK")),
            (["REMOVE", "st", "i"], .simple("OK")),
            (["CLEAR", "l"], .simple("OK")),
            (["LEN", "l"], .integer(0)),
        ]
        for (request, expected) in script {
            XCTAssertEqual(try client.call(request), expected, "\(request)")
        }
        guard case .array(let vars) = try client.call("VARS") else { return XCTFail("VARS") }
        XCTAssertEqual(vars.count, 2 * 13)
        XCTAssertEqual(vars.first, .bulk("b"))
    }

    func testEveryErrorCode() throws {
        let client = try heapd.connect()
        _ = try client.pipeline([
            ["NEW", "l", "list"], ["NEW", "i", "int", "1"], ["NEW", "d", "dict"], ["NEW", "s", "set"],
        ])
        XCTAssertErrorCode(try client.call("REPR", "missing"), "NOVAR")
        XCTAssertErrorCode(try client.call("REPR", "#987654321"), "NOOBJ")
        XCTAssertErrorCode(try client.call("APPEND", "i", "l"), "WRONGTYPE")
        XCTAssertErrorCode(try client.call("NEW", "x", "int", "abc"), "SYNTAX")
        XCTAssertErrorCode(try client.call("NEW", "x", "widget"), "SYNTAX")
        XCTAssertErrorCode(try client.call("APPEND", "l"), "ARGS")
        XCTAssertErrorCode(try client.call("SET", "x", "#1"), "DENIED")
        XCTAssertErrorCode(try client.call("GETITEM", "x", "l", "3"), "INDEX")
        XCTAssertErrorCode(try client.call("GETITEM", "x", "d", "nokey"), "KEY")
        XCTAssertErrorCode(try client.call("ADD", "s", "l"), "TYPE")
        XCTAssertErrorCode(try client.call("NOSUCH"), "UNKNOWN")
        XCTAssertErrorCode(try client.call("GC", "NOSUCH"), "UNKNOWN")
        XCTAssertErrorCode(try client.call("SCOPE", "POP"), "SCOPE")
        XCTAssertErrorCode(try client.call("POP", "x", "l"), "INDEX")
        XCTAssertErrorCode(try client.call("NEW", "b", "bytes", "SIZE", "-1"), "SYNTAX")
        // An over-long inline line is answered LIMIT and the connection stays usable.
        try client.sendRaw(Array(repeating: UInt8(ascii: "a"), count: 70_000) + Array("\nPING\n".utf8))
        XCTAssertErrorCode(try client.readReply(), "LIMIT")
        XCTAssertEqual(try client.readReply(), .simple("PONG"))
        // Unbalanced quotes: SYNTAX, connection usable.
        try client.sendRaw(Array("NEW s str \"open\nPING\n".utf8))
        XCTAssertErrorCode(try client.readReply(), "SYNTAX")
        XCTAssertEqual(try client.readReply(), .simple("PONG"))
        // A broken RESP frame: PROTO, and the server closes the connection as Redis does.
        let broken = try heapd.connect()
        try broken.sendRaw(Array("*2\r\n$4\r\nPING\r\nxx\r\n".utf8))
        XCTAssertErrorCode(try broken.readReply(), "PROTO")
        XCTAssertThrowsError(try broken.readReply())
    }

    func testTenThousandPipelinedCommandsAnswerInOrder() throws {
        let client = try heapd.connect()
        var bytes: [UInt8] = []
        for index in 0..<10_000 { bytes += Array("PING \(index)\n".utf8) }
        try client.sendRaw(bytes)
        for index in 0..<10_000 {
            XCTAssertEqual(bulkText(try client.readReply()), "\(index)")
        }
    }

    func testBinaryAndGarbageInputNeverKillsTheDaemon() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let client = try heapd.connect(timeout: 2)
            let noise = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
            try? client.sendRaw(noise + Array("\r\n".utf8))
            client.close()
        }
        let client = try heapd.connect()
        XCTAssertEqual(try client.call("PING"), .simple("PONG"))
    }
}
