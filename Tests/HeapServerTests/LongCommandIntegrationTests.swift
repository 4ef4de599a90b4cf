import Foundation
import HeapClient
import HeapProtocol
import HeapdTesting
import XCTest

/// `SUM` and `LIST` over a range of 2⁶³ ints, against the real binary: they let stops of the world
/// through, end when their client hangs up, when heapd is stopped, or past the time limit.
final class LongCommandIntegrationTests: XCTestCase {
    static let endless = "9223372036854775807"

    private func start(_ arguments: [String] = []) throws -> HeapdProcess {
        try HeapdProcess(arguments: ["--log-level", "warning", "--threads", "2"] + arguments)
    }

    private func infoValue(_ client: HeapConnection, _ section: String, _ key: String) throws -> Int? {
        guard let text = bulkText(try client.call("INFO", section)) else { return nil }
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix(key + ":") {
            return Int(line.dropFirst(key.count + 1))
        }
        return nil
    }

    /// Sends `command` on a fresh raw connection, which it then occupies.
    private func startLong(_ heapd: HeapdProcess, _ command: String) throws -> RawClient {
        let client = try RawClient(socketPath: heapd.socketPath)
        // Not pipelined: replies of a burst are sent after its last command, which would never end.
        client.sendAll(Array("NEW g.endless gen range \(Self.endless)\n".utf8))
        XCTAssertEqual(String(decoding: client.read(atLeast: 5), as: UTF8.self), "+OK\r\n")
        client.sendAll(Array("\(command)\n".utf8))
        usleep(200_000)
        return client
    }

    /// While a SUM runs, `DEBUG VERIFY` and `GC COLLECT` complete within a second, also for the client
    /// that shares the SUM's event loop (the SUM runs in steps and gives the loop back between them);
    /// the SUM's client hanging up cancels it.
    func testStopTheWorldCommandsCompleteWhileASumRunsAndHangingUpCancelsIt() throws {
        // The default time limit (5 s) is longer than the test.
        let heapd = try start()
        defer { heapd.stop() }
        let summer = try startLong(heapd, "SUM s g.endless")
        // Connections go to the two event loops in turn: one of these two shares the SUM's loop.
        let others = [try RawClient(socketPath: heapd.socketPath), try RawClient(socketPath: heapd.socketPath)]
        var latencies: [String] = []
        for command in ["DEBUG VERIFY", "GC COLLECT 2", "PING"] {
            for client in others { client.sendAll(Array("\(command)\n".utf8)) }
            let started = Date()
            for (index, client) in others.enumerated() {
                let reply = String(decoding: client.read(atLeast: 3, timeout: 1), as: UTF8.self)
                XCTAssertFalse(reply.isEmpty, "\(command) answered within a second for client \(index)")
                latencies.append("\(command) \(Int(Date().timeIntervalSince(started) * 1e3)) ms")
                switch command {
                case "DEBUG VERIFY":
                    XCTAssertTrue(reply.hasPrefix("+OK heap consistent"), "the SUM's references are counted: \(reply)")
                case "PING": XCTAssertEqual(reply, "+PONG\r\n")
                default: XCTAssertTrue(reply.hasPrefix(":"), reply)
                }
            }
        }
        print("figures: during SUM over 2^63: \(latencies.joined(separator: ", "))")
        XCTAssertTrue(summer.read(atLeast: 1, timeout: 0.05).isEmpty, "the SUM still runs")
        // A stop that lands inside one of the SUM's steps makes it yield at a safepoint; one that lands
        // in the pause between two steps does not, and on a loaded machine the few stops above all can
        // (they did in 3 runs of 10 at a load of 7 on two cores). More stops from both loops, until one
        // lands inside a step.
        let observer = try heapd.connect()
        var extraStops = 0
        while try infoValue(observer, "limits", "safepoint_yields") == 0 && extraStops < 100 {
            let client = others[extraStops % others.count]
            client.sendAll(Array("DEBUG VERIFY\n".utf8))
            XCTAssertTrue(String(decoding: client.read(atLeast: 3), as: UTF8.self).hasPrefix("+OK heap consistent"))
            extraStops += 1
        }
        XCTAssertGreaterThan(
            try infoValue(observer, "limits", "safepoint_yields") ?? 0, 0,
            "no stop made the SUM yield at a safepoint (\(extraStops) more stops tried)")
        summer.close()
        let deadline = Date().addingTimeInterval(2)
        while try infoValue(observer, "limits", "commands_cancelled") != 1 && Date() < deadline { usleep(10_000) }
        XCTAssertEqual(try infoValue(observer, "limits", "commands_cancelled"), 1, "hanging up cancels the SUM")
        guard case .simple(let verdict) = try observer.call("DEBUG", "VERIFY") else { return XCTFail("VERIFY") }
        XCTAssertTrue(verdict.hasPrefix("OK heap consistent: 1 objects"), verdict)
    }

    /// A view that would stop the world for seconds in one go (100 levels of BACKREFS, each a scan of
    /// a few hundred thousand objects) runs in steps: meanwhile a collection and a PING complete on both
    /// event loops, before the view's reply; its client hanging up ends it. A long command's reply comes
    /// before the replies to what its client pipelined after it.
    func testAViewRunsInStepsWhileCollectionsAndOtherClientsGoThrough() throws {
        let heapd = try start(["--command-time-limit", "0"])
        defer { heapd.stop() }
        let admin = try heapd.connect()
        XCTAssertEqual(try admin.call("NEW", "g.r", "gen", "range", "300000"), .simple("OK"))
        XCTAssertEqual(try admin.call("LIST", "g.ints", "g.r"), .integer(300_000))
        XCTAssertEqual(try admin.call("NEW", "g.chain", "list"), .simple("OK"))
        guard case .integer(let tail) = try admin.call("ID", "g.chain") else { return XCTFail("ID") }
        for _ in 0..<100 { XCTAssertEqual(try admin.call("NEW", "g.chain", "list", "g.chain"), .simple("OK")) }

        let viewer = try RawClient(socketPath: heapd.socketPath)
        let others = [try RawClient(socketPath: heapd.socketPath), try RawClient(socketPath: heapd.socketPath)]
        viewer.sendAll(Array("GRAPH #\(tail) DEPTH 100 BACKREFS MAX 10000\nPING\n".utf8))
        usleep(100_000)
        for command in ["GC COLLECT 2", "PING"] {
            for client in others { client.sendAll(Array("\(command)\n".utf8)) }
            for (index, client) in others.enumerated() {
                let reply = String(decoding: client.read(atLeast: 3, timeout: 2), as: UTF8.self)
                XCTAssertTrue(
                    reply.hasPrefix(command == "PING" ? "+PONG" : ":"), "\(command) on client \(index): \(reply)")
            }
        }
        XCTAssertTrue(viewer.read(atLeast: 1, timeout: 0.05).isEmpty, "the view was still running meanwhile")
        viewer.close()
        guard case .simple(let verdict) = try admin.call("DEBUG", "VERIFY") else { return XCTFail("VERIFY") }
        XCTAssertTrue(verdict.hasPrefix("OK heap consistent"), verdict)

        // Pipelined after a SUM of several steps: answered after it, in order.
        let summer = try RawClient(socketPath: heapd.socketPath)
        summer.sendAll(Array("SUM s g.ints\nPING\n".utf8))
        let replies = String(decoding: summer.read(atLeast: 25, timeout: 20), as: UTF8.self)
        XCTAssertEqual(replies, "$11\r\n44999850000\r\n+PONG\r\n")
    }

    /// A list half built by `LIST` is counted while the world is stopped, and freed when it is cancelled.
    func testAHalfBuiltListIsCountedByTheVerifierAndFreedWhenCancelled() throws {
        let heapd = try start()
        defer { heapd.stop() }
        let lister = try startLong(heapd, "LIST l g.endless")
        let others = [try RawClient(socketPath: heapd.socketPath), try RawClient(socketPath: heapd.socketPath)]
        for client in others { client.sendAll(Array("DEBUG VERIFY\n".utf8)) }
        let replies = others.map { String(decoding: $0.read(atLeast: 3, timeout: 1), as: UTF8.self) }
        let verdict = replies.first { !$0.isEmpty } ?? ""
        XCTAssertTrue(verdict.hasPrefix("+OK heap consistent"), verdict)
        let checked = Int(verdict.split(separator: " ").dropFirst(3).first ?? "") ?? 0
        XCTAssertGreaterThan(checked, 2, "the half-built list and its items were checked: \(verdict)")
        lister.close()
        let observer = try heapd.connect()
        let deadline = Date().addingTimeInterval(3)
        while try infoValue(observer, "objects", "objects") != 1 && Date() < deadline { usleep(20_000) }
        XCTAssertEqual(try infoValue(observer, "objects", "objects"), 1, "only the generator is left")
        guard case .simple(let final) = try observer.call("DEBUG", "VERIFY") else { return XCTFail("VERIFY") }
        XCTAssertTrue(final.hasPrefix("OK"), final)
    }

    /// SIGTERM ends heapd within 2 s whatever runs.
    func testSIGTERMEndsHeapdWithinTwoSecondsWhileASumRuns() throws {
        let heapd = try start(["--command-time-limit", "0"])
        defer { heapd.stop(signal: SIGKILL) }
        let summer = try startLong(heapd, "SUM s g.endless")
        let started = Date()
        let status = heapd.stop(signal: SIGTERM, timeout: 10)
        let elapsed = Date().timeIntervalSince(started)
        print("figures: SIGTERM during SUM over 2^63: heapd exited after \(Int(elapsed * 1e3)) ms, status \(status)")
        XCTAssertLessThan(elapsed, 2)
        XCTAssertEqual(status, 0)
        let reply = String(decoding: summer.read(atLeast: 10, timeout: 1), as: UTF8.self)
        XCTAssertTrue(reply.hasPrefix("-CANCELLED") || reply.isEmpty, reply)
    }

    /// Past `--command-time-limit` the command answers `-LIMIT`; what it consumed stays consumed and
    /// the session goes on.
    func testTheTimeLimitStopsALongSumWithLimit() throws {
        let heapd = try start(["--command-time-limit", "300"])
        defer { heapd.stop() }
        let client = try heapd.connect()
        XCTAssertEqual(try client.call("NEW", "g", "gen", "range", Self.endless), .simple("OK"))
        let started = Date()
        let reply = try client.call("SUM", "s", "g")
        let elapsed = Date().timeIntervalSince(started)
        print("figures: SUM over 2^63 with --command-time-limit 300 answered after \(Int(elapsed * 1e3)) ms: \(reply)")
        guard case .error("LIMIT", let message) = reply else { return XCTFail("\(reply)") }
        XCTAssertTrue(message.contains("command-time-limit 300 ms"), message)
        XCTAssertLessThan(elapsed, 2)
        guard case .bulk(let next) = try client.call("NEXT", "g"),
            let value = Int(String(decoding: next, as: UTF8.self))
        else { return XCTFail("NEXT") }
        XCTAssertGreaterThan(value, 1000, "the generator stays consumed up to where the SUM stopped")
        XCTAssertErrorCode(try client.call("LIST", "l", "g"), "LIMIT")
        XCTAssertEqual(try infoValue(client, "limits", "commands_timed_out"), 2)
        guard case .simple(let verdict) = try client.call("DEBUG", "VERIFY") else { return XCTFail("VERIFY") }
        XCTAssertTrue(verdict.hasPrefix("OK heap consistent: 1 objects"), verdict)
    }
}
