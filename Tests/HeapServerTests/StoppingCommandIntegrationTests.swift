import Foundation
import HeapClient
import HeapProtocol
import HeapdTesting
import Synchronization
import XCTest

/// A command that stops the world or waits for the collector runs off its event loop and replies
/// through a future (docs/007-stop-the-world-commands.md): the other clients of the loop go on meanwhile,
/// and the stopping client's own requests still run in order.
final class StoppingCommandIntegrationTests: XCTestCase {
    /// Reads from `client` until `count` replies (lines) arrived; returns the text.
    private func readReplies(_ client: RawClient, _ count: Int, timeout: Double = 60) -> String {
        var text: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        while text.lazy.filter({ $0 == UInt8(ascii: "\n") }).count < count && Date() < deadline {
            text += client.read(atLeast: 1, timeout: max(0.01, deadline.timeIntervalSinceNow))
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// One event loop (`--threads 1`) shared by two clients. While one client has thirty `GC COLLECT`
    /// pipelined, the other's `NEW` waits at most for the collection in progress, not for all of them
    /// (before, the loop waited on each collection in turn and served the other client after the last).
    func testAnotherClientsNewIsNotStalledWhileAClientCollectsRepeatedly() throws {
        let heapd = try HeapdProcess(arguments: ["--log-level", "warning", "--threads", "1"])
        defer { heapd.stop() }
        let collector = try RawClient(socketPath: heapd.socketPath)
        defer { collector.close() }
        // Twenty thousand tracked lists, so that a full collection takes a measurable time.
        let lists = 20_000
        var setup = Array("NEW g.xs list\r\n".utf8)
        for _ in 0..<lists { setup += Array("NEW t list\r\nAPPEND g.xs t\r\n".utf8) }
        XCTAssertEqual(collector.sendAll(setup, timeout: 60), setup.count)
        let built = readReplies(collector, 1 + 2 * lists)
        XCTAssertFalse(built.contains("-"), "the lists were made: \(built.prefix(200))")

        let other = try heapd.connect()
        XCTAssertEqual(try other.call("PING"), .simple("PONG"), "both clients are served by the one loop")
        // One collection alone, for its duration.
        var started = Date()
        collector.sendAll(Array("GC COLLECT\r\n".utf8))
        XCTAssertTrue(readReplies(collector, 1).hasPrefix(":"))
        let one = Date().timeIntervalSince(started)

        let rounds = 30
        started = Date()
        collector.sendAll(Array(String(repeating: "GC COLLECT\r\n", count: rounds).utf8))
        usleep(UInt32(min(one, 1) * 1e6))
        let asked = Date()
        XCTAssertEqual(try other.call("NEW", "y", "int", "1"), .simple("OK"))
        let stalled = Date().timeIntervalSince(asked)
        let replies = readReplies(collector, rounds)
        let all = Date().timeIntervalSince(started)
        XCTAssertEqual(replies.split(separator: "\r\n").count, rounds)
        XCTAssertTrue(replies.split(separator: "\r\n").allSatisfy { $0.hasPrefix(":") }, replies)
        print(
            "figures: one GC COLLECT \(Int(one * 1e3)) ms, \(rounds) pipelined \(Int(all * 1e3)) ms; "
                + "the other client's NEW meanwhile \(Int(stalled * 1e3)) ms")
        XCTAssertLessThan(
            stalled, all / 3,
            "the NEW waited for the collection in progress only (\(Int(stalled * 1e3)) ms of \(Int(all * 1e3)) ms)")

        // The collecting client's own requests stay in order around its collections.
        collector.sendAll(Array("PING a\r\nGC COLLECT\r\nPING b\r\nDEBUG VERIFY\r\nPING c\r\n".utf8))
        let ordered = readReplies(collector, 8).split(separator: "\r\n")
        XCTAssertEqual(ordered.count, 8, "\(ordered)")
        guard ordered.count == 8 else { return }
        XCTAssertEqual(Array(ordered[0...1]), ["$1", "a"])
        XCTAssertTrue(ordered[2].hasPrefix(":"), "\(ordered)")
        XCTAssertEqual(Array(ordered[3...4]), ["$1", "b"])
        XCTAssertTrue(ordered[5].hasPrefix("+OK heap consistent"), "\(ordered)")
        XCTAssertEqual(Array(ordered[6...7]), ["$1", "c"])
    }

    /// A client that hangs up while its `GC COLLECT` waits for the collector leaves heapd consistent:
    /// the reply is dropped, and the next client is served.
    func testAClientThatLeavesDuringACollectionIsForgotten() throws {
        let heapd = try HeapdProcess(arguments: ["--log-level", "warning", "--threads", "1"])
        defer { heapd.stop() }
        for _ in 0..<20 {
            let client = try RawClient(socketPath: heapd.socketPath)
            client.sendAll(Array("NEW x list\r\nAPPEND x x\r\nGC COLLECT\r\nGC COLLECT\r\nPING\r\n".utf8))
            client.close()
        }
        let observer = try heapd.connect()
        XCTAssertEqual(try observer.call("PING"), .simple("PONG"))
        guard case .simple(let verdict) = try observer.call("DEBUG", "VERIFY") else { return XCTFail("VERIFY") }
        XCTAssertTrue(verdict.hasPrefix("OK heap consistent"), verdict)
    }

    /// Collector events reach a subscriber through its own event loop, in order with its replies: while
    /// another client collects without pause, no event ever follows the reply to `GC UNSUBSCRIBE`.
    func testNoEventFollowsTheReplyToUnsubscribe() throws {
        let heapd = try HeapdProcess(arguments: ["--log-level", "warning", "--threads", "1"])
        defer { heapd.stop() }
        let stop = StopFlag()
        let collecting = DispatchSemaphore(value: 0)
        let socketPath = heapd.socketPath
        Thread.detachNewThread {
            defer { collecting.signal() }
            guard let client = try? HeapConnection(socketPath: socketPath) else { return }
            while !stop.isSet { _ = try? client.call("GC", "COLLECT", "0") }
            client.close()
        }
        defer {
            stop.set()
            collecting.wait()
        }
        let listener = try heapd.connect()
        var events = 0
        for _ in 0..<40 {
            XCTAssertEqual(
                try listener.call("GC", "SUBSCRIBE"), .array([.bulk("subscribe"), .bulk("gc"), .integer(1)]))
            guard case .array = try listener.readReply() else { return XCTFail("an event while subscribed") }
            events += 1
            try listener.send(["GC", "UNSUBSCRIBE"])
            while true {
                let reply = try listener.readReply()
                if reply == .array([.bulk("unsubscribe"), .bulk("gc"), .integer(0)]) { break }
                events += 1
            }
            XCTAssertEqual(try listener.call("PING"), .simple("PONG"), "nothing after the unsubscribe reply")
        }
        XCTAssertGreaterThanOrEqual(events, 40)
    }
}

/// A flag one thread sets and another polls.
private final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .relaxed) }
    func set() { value.store(true, ordering: .relaxed) }
}
