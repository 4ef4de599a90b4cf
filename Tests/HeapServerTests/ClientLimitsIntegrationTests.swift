import Foundation
import HeapClient
import HeapProtocol
import HeapdTesting
import XCTest

/// What one client may cost heapd, against the real binary over real sockets: a client that never
/// reads, partial requests past the budget, output past the hard limit, replies past `max-reply`.
final class ClientLimitsIntegrationTests: XCTestCase {
    private func start(_ arguments: [String] = []) throws -> HeapdProcess {
        try HeapdProcess(arguments: ["--log-level", "warning"] + arguments)
    }

    /// A number from `INFO section`.
    private func infoValue(_ client: HeapConnection, _ section: String, _ key: String) throws -> Int? {
        guard let text = bulkText(try client.call("INFO", section)) else { return nil }
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix(key + ":") {
            return Int(line.dropFirst(key.count + 1))
        }
        return nil
    }

    /// A client that never reads: `ECHO` of 256 KiB for as long as heapd takes them, then `REPR` of
    /// 6 MB by the thousand (9 bytes each). heapd stops reading the client, its memory stays put,
    /// and another client is answered at once meanwhile.
    func testAClientThatNeverReadsCostsBoundedMemoryAndOthersAreServedMeanwhile() throws {
        let heapd = try start()
        defer { heapd.stop() }
        let observer = try heapd.connect()
        // A list holding one 60 KB str 100 times: `REPR g.l` is 9 bytes asking for 6 MB.
        _ = try observer.pipeline(
            [["NEW", "g.s", "str", String(repeating: "x", count: 60_000)], ["NEW", "g.l", "list"]]
                + Array(repeating: ["APPEND", "g.l", "g.s"], count: 100))
        let pid = heapd.pid
        let before = ProcessFigures.residentBytes(of: pid)
        let hog = try RawClient(socketPath: heapd.socketPath)
        let echo =
            Array("*2\r\n$4\r\nECHO\r\n$262144\r\n".utf8) + [UInt8](repeating: 101, count: 262_144)
            + Array("\r\n".utf8)
        var stream = echo[...]
        var echoed = 0
        var peak = before
        var worstPing = 0.0
        let deadline = Date().addingTimeInterval(3)
        // At most 512 MiB, so that a heapd without backpressure does not take the machine's memory.
        while Date() < deadline && echoed * echo.count < 512 << 20 {
            let sent = hog.sendSome(Array(stream.prefix(65536)))
            stream = stream.dropFirst(sent)
            if stream.isEmpty {
                echoed += 1
                stream = echo[...]
            }
            if sent == 0 {
                peak = max(peak, ProcessFigures.residentBytes(of: pid))
                let start = Date()
                XCTAssertEqual(try observer.call("PING"), .simple("PONG"))
                worstPing = max(worstPing, Date().timeIntervalSince(start))
                usleep(20_000)
            }
        }
        // Whatever ECHO was half sent, then small requests for big replies.
        hog.sendAll(Array(stream), timeout: 1)
        let reprs = hog.sendSome(Array(String(repeating: "REPR g.l\n", count: 2000).utf8)) / 9
        for _ in 0..<20 {
            peak = max(peak, ProcessFigures.residentBytes(of: pid))
            let start = Date()
            XCTAssertEqual(try observer.call("PING"), .simple("PONG"))
            worstPing = max(worstPing, Date().timeIntervalSince(start))
            usleep(50_000)
        }
        print(
            "figures: a client that never reads sent \(reprs) REPRs (\(reprs * 6) MB of replies) and \(echoed) ECHOs "
                + "(\(echoed / 4) MiB); heapd RSS \(before / 1024) KiB, at most \(peak / 1024) KiB; "
                + "worst PING of another client meanwhile \(Int(worstPing * 1e6)) us")
        XCTAssertGreaterThan(echoed, 0)
        XCTAssertLessThan(echoed * echo.count, 8 << 20, "heapd stopped reading the client")
        XCTAssertLessThan(peak - before, 64 << 20, "a client that never reads costs at most 64 MiB")
        XCTAssertLessThan(worstPing, 0.5, "another client is answered promptly")
        hog.close()
        try heapd.assertHeapConsistent()
    }

    /// Past the budget for partly received requests, the client holding the biggest one is told
    /// `-LIMIT` and closed; the smaller one completes.
    func testThePartialRequestBudgetClosesTheClientWithTheBiggestPartialRequest() throws {
        let heapd = try start(["--partial-request-budget", "8M"])
        defer { heapd.stop() }
        let observer = try heapd.connect()
        let mebibyte = 1 << 20
        func header(_ command: String, _ length: Int) -> [UInt8] {
            Array("*2\r\n$\(command.utf8.count)\r\n\(command)\r\n$\(length)\r\n".utf8)
        }
        let big = try RawClient(socketPath: heapd.socketPath)
        let partial = header("ECHO", 6 * mebibyte) + [UInt8](repeating: 97, count: 5 * mebibyte)
        XCTAssertEqual(big.sendAll(partial), partial.count)
        var held = 0
        let deadline = Date().addingTimeInterval(5)
        while held < 5 * mebibyte && Date() < deadline {
            held = try infoValue(observer, "limits", "partial_request_bytes") ?? 0
            usleep(10_000)
        }
        XCTAssertGreaterThanOrEqual(held, 5 * mebibyte, "heapd holds the first client's partial request")
        let small = try RawClient(socketPath: heapd.socketPath)
        small.sendAll(header("ECHO", 5 * mebibyte) + [UInt8](repeating: 98, count: 4 * mebibyte))
        let refusal = String(decoding: big.read(atLeast: 20), as: UTF8.self)
        XCTAssertTrue(refusal.hasPrefix("-LIMIT partial-request-budget (8388608 bytes"), refusal)
        XCTAssertTrue(big.closedByPeer(), "the evicted client is closed")
        small.sendAll([UInt8](repeating: 98, count: mebibyte) + Array("\r\n".utf8))
        let echoed = small.read(atLeast: 5 * mebibyte + 12)
        XCTAssertEqual(echoed.count, 5 * mebibyte + 12, "the smaller request completes")
        XCTAssertEqual(try infoValue(observer, "limits", "partial_request_evictions"), 1)
        XCTAssertEqual(try infoValue(observer, "limits", "partial_request_bytes"), 0)
        try heapd.assertHeapConsistent()
    }

    /// A subscribed client that never reads its events passes the hard output limit: it is
    /// disconnected, its variables are released, and the log says why.
    func testTheOutputLimitDisconnectsAClientThatDoesNotReadItsEvents() throws {
        let heapd = try start(["--output-pause", "16K", "--max-reply", "16K", "--output-limit", "64K"])
        defer { heapd.stop() }
        let observer = try heapd.connect()
        let subscriber = try RawClient(socketPath: heapd.socketPath)
        subscriber.sendAll(Array("NEW mine bytes 100000\nGC SUBSCRIBE\n".utf8))
        XCTAssertFalse(subscriber.read(atLeast: 5).isEmpty)
        XCTAssertEqual(try infoValue(observer, "objects", "objects"), 1, "the subscriber's bytes")
        var collections = 0
        while try infoValue(observer, "limits", "output_limit_disconnections") == 0 && collections < 20_000 {
            // Each collection pushes two events (about 70 bytes) to the subscriber, who never reads them.
            let replies = try observer.pipeline(Array(repeating: ["GC", "COLLECT"], count: 200))
            XCTAssertEqual(replies.count, 200)
            collections += 200
        }
        print("figures: the non-reading subscriber was disconnected after \(collections) collections' events")
        XCTAssertEqual(try infoValue(observer, "limits", "output_limit_disconnections"), 1)
        XCTAssertTrue(subscriber.closedByPeer())
        let deadline = Date().addingTimeInterval(2)
        while try infoValue(observer, "objects", "objects") != 0 && Date() < deadline { usleep(10_000) }
        XCTAssertEqual(try infoValue(observer, "objects", "objects"), 0, "its variables were released")
        XCTAssertEqual(try infoValue(observer, "clients", "connected_clients"), 1)
        usleep(100_000)
        XCTAssertTrue(heapd.stderrText().contains("client output limit"), "the disconnection is logged")
        try heapd.assertHeapConsistent()
    }

    /// Replies bigger than `max-reply` are refused with `-LIMIT`, and the connection goes on.
    func testRepliesOverMaxReplyAreRefusedAndTheConnectionStaysUsable() throws {
        let heapd = try start(["--output-pause", "16K", "--max-reply", "16K", "--output-limit", "64K"])
        defer { heapd.stop() }
        let client = try heapd.connect()
        let text = String(repeating: "y", count: 20_000)
        XCTAssertEqual(try client.call("NEW", "s", "str", text), .simple("OK"))
        XCTAssertErrorCode(try client.call("REPR", "s"), "LIMIT")
        XCTAssertErrorCode(try client.call("ECHO", text), "LIMIT")
        // A list sharing one big str 100 times: its repr is never built (depth and items alone allow it).
        _ = try client.pipeline([["NEW", "l", "list"]] + Array(repeating: ["APPEND", "l", "s"], count: 100))
        XCTAssertErrorCode(try client.call("REPR", "l"), "LIMIT")
        // Binding commands still do their work and show a note instead of the repr.
        let note = bulkText(try client.call("GETITEM", "first", "l", "0")) ?? ""
        XCTAssertTrue(note.contains("repr longer than"), note)
        XCTAssertEqual(try client.call("LEN", "first"), .integer(20_000))
        XCTAssertEqual(try client.call("PING"), .simple("PONG"))
        XCTAssertEqual(try infoValue(client, "limits", "max_reply"), 16_384)
        try heapd.assertHeapConsistent()
    }

    /// Every limit is in `INFO limits` under its flag's name, and a flag's unit suffixes are read.
    func testInfoReportsEveryLimitInForce() throws {
        let heapd = try start(["--max-reply", "2M", "--command-time-limit", "1500"])
        defer { heapd.stop() }
        let client = try heapd.connect()
        for key in [
            "max_clients", "max_line", "max_args", "max_bulk", "max_objects", "output_pause", "max_reply",
            "output_limit", "partial_request_budget", "command_time_limit",
        ] {
            XCTAssertNotNil(try infoValue(client, "limits", key), key)
        }
        XCTAssertEqual(try infoValue(client, "limits", "max_reply"), 2 << 20)
        XCTAssertEqual(try infoValue(client, "limits", "command_time_limit"), 1500)
        XCTAssertEqual(try infoValue(client, "limits", "output_limit"), 32 << 20)
    }

    /// Limits that cannot work together stop the start with a message naming them.
    func testInconsistentLimitsFailTheStart() throws {
        XCTAssertThrowsError(try start(["--max-reply", "40M", "--output-limit", "32M"])) { error in
            guard case HeapdProcess.HarnessError.exited(let status, let stderr) = error else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(status, 1)
            XCTAssertTrue(stderr.contains("must not exceed output-limit"), stderr)
        }
    }
}
