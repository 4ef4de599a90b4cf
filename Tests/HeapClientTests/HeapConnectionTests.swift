import Foundation
import Glibc
import HeapClient
import HeapProtocol
import Testing

struct HeapConnectionTests {
    @Test func callSendsMultibulkAndReadsASplitReply() throws {
        let server = ScriptedServer { peer in
            peer.readRequest()
            peer.write("+O", "K\r", "\n")
        }
        defer { server.stop() }
        let connection = try HeapConnection(socketPath: server.path)
        #expect(try connection.call("SET", "k", "hello world") == .ok)
        connection.close()
        server.stop()
        #expect(server.received.withLock { $0 } == [Request(["SET", "k", "hello world"])])
    }

    @Test func pipelineWritesAllThenReadsAll() throws {
        let replies: [Reply] = [
            .bulk("v1"), .array([.integer(1), .array([.bulk("a")]), .null]), .error(code: "ERR", message: "boom"),
        ]
        let server = ScriptedServer { peer in
            for _ in 0..<3 {
                peer.readRequest()
            }
            peer.write(replies.flatMap(\.encoded).chunked(by: 3))
            // An error reply must not break the connection: one more command follows.
            peer.readRequest()
            peer.write(":7\r\n")
        }
        defer { server.stop() }
        let connection = try HeapConnection(socketPath: server.path)
        let requests = [["GET", "a"], ["LRANGE", "l", "0", "-1"], ["BOOM"]]
        #expect(try connection.pipeline(requests) == replies)
        #expect(try connection.call(["INCR", "n"]) == .integer(7))
        server.stop()
        #expect(server.received.withLock { $0 } == (requests + [["INCR", "n"]]).map { Request($0) })
    }

    @Test func binaryArgumentsAndLargeReplies() throws {
        let value: [UInt8] = [0x00, 0x0D, 0x0A, 0xFF, 0x24]
        let large = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let server = ScriptedServer { peer in
            peer.readRequest()
            peer.write(Reply.bulk(large).encoded.chunked(by: 40_000))
            peer.readRequest()
            peer.write(Reply.array(Array(repeating: .integer(1), count: 2000)).encoded.chunked(by: 777))
        }
        defer { server.stop() }
        let connection = try HeapConnection(socketPath: server.path)
        let request = Request(arguments: [Array("SET".utf8), value])
        #expect(try connection.call(request) == .bulk(large))
        #expect(try connection.call("KEYS") == .array(Array(repeating: .integer(1), count: 2000)))
        server.stop()
        #expect(server.received.withLock { $0 }.first == request)
    }

    @Test func sendRawAndReadReply() throws {
        let server = ScriptedServer { peer in
            peer.readRequest()
            peer.write("+PONG\r\n")
        }
        defer { server.stop() }
        let connection = try HeapConnection(socketPath: server.path)
        try connection.sendRaw(Array("PING\r\n".utf8))
        #expect(try connection.readReply() == .simple("PONG"))
        server.stop()
        #expect(server.received.withLock { $0 } == [Request(["PING"])])
    }

    @Test func timeoutClosesTheConnection() throws {
        let server = ScriptedServer { peer in
            peer.readRequest()
            peer.waitForClose()
        }
        defer { server.stop() }
        let connection = try HeapConnection(socketPath: server.path, timeout: 0.2)
        let started = Date()
        #expect(throws: ClientError.timeout) { try connection.call("BLOCK") }
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed >= 0.15 && elapsed < 3)
        #expect(!connection.isOpen)
        #expect(throws: ClientError.notConnected) { try connection.call("PING") }
    }

    @Test func serverClosingIsReported() throws {
        let server = ScriptedServer { peer in
            peer.readRequest()
        }
        defer { server.stop() }
        let connection = try HeapConnection(socketPath: server.path)
        #expect(throws: ClientError.closedByServer) { try connection.call("QUIT") }
        #expect(!connection.isOpen)
    }

    @Test func closeMidReplyIsClosedByServer() throws {
        let server = ScriptedServer { peer in
            peer.readRequest()
            peer.write("$10\r\nhal")
        }
        defer { server.stop() }
        let connection = try HeapConnection(socketPath: server.path)
        #expect(throws: ClientError.closedByServer) { try connection.call("GET", "k") }
    }

    @Test func malformedReplyIsAProtocolError() throws {
        let server = ScriptedServer { peer in
            peer.readRequest()
            peer.write("?what\r\n")
            peer.waitForClose()
        }
        defer { server.stop() }
        let connection = try HeapConnection(socketPath: server.path)
        #expect(throws: ClientError.protocolError(.invalidReplyType(found: UInt8(ascii: "?")))) {
            try connection.call("PING")
        }
        #expect(!connection.isOpen)
    }

    @Test func closeIsIdempotent() throws {
        let server = ScriptedServer { peer in
            peer.waitForClose()
        }
        defer { server.stop() }
        let connection = try HeapConnection(socketPath: server.path)
        #expect(connection.isOpen)
        connection.close()
        connection.close()
        #expect(!connection.isOpen)
        #expect(throws: ClientError.notConnected) { try connection.send(["PING"]) }
        #expect(throws: ClientError.notConnected) { try connection.readReply() }
    }

    @Test func missingSocketExplainsItself() {
        let path = "/tmp/hc-missing-\(getpid()).sock"
        #expect(throws: ClientError.connect(path: path, errno: ENOENT)) { try HeapConnection(socketPath: path) }
        #expect(
            ClientError.connect(path: path, errno: ENOENT).description
                == "could not connect to heapd at \(path): No such file or directory (is heapd running?)"
        )
    }

    @Test func overlongPathIsRejectedBeforeConnecting() {
        let path = "/tmp/" + String(repeating: "x", count: 103)
        #expect(throws: ClientError.pathTooLong(path)) { try HeapConnection(socketPath: path) }
        #expect(
            ClientError.pathTooLong(path).description == "socket path is too long (108 bytes, max 107): \(path)"
        )
        // 107 bytes fits and fails only because nothing listens there.
        let fitting = String(path.dropLast())
        #expect(throws: ClientError.connect(path: fitting, errno: ENOENT)) { try HeapConnection(socketPath: fitting) }
    }
}
