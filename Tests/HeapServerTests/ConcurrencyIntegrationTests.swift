import Foundation
import HeapClient
import HeapProtocol
import HeapdTesting
import XCTest

/// Many real clients at once against one heapd: counts end exact, closed sessions give everything back.
final class ConcurrencyIntegrationTests: HeapdTestCase {
    override var extraArguments: [String] { ["--threads", "4"] }

    func testSixtyFourClientsRacingOnSharedObjectsEndWithExactCounts() throws {
        let setup = try heapd.connect()
        _ = try setup.pipeline([["NEW", "g.shared", "list"], ["NEW", "g.box", "dict"]])
        let clients = 64
        let rounds = 100
        let failures = LockedCounter()
        let socket = heapd.socketPath
        DispatchQueue.concurrentPerform(iterations: clients) { index in
            do {
                let client = try HeapConnection(socketPath: socket)
                defer { client.close() }
                var requests: [[String]] = []
                for round in 0..<rounds {
                    requests.append(["SET", "mine\(round % 4)", "g.shared"])
                    requests.append(["NEW", "v", "int", "\(index)"])
                    requests.append(["APPEND", "g.shared", "v"])
                    requests.append(["SETITEM", "g.box", "k\(index % 8)", "v"])
                    requests.append(["POP", "w", "g.shared"])
                    requests.append(["DEL", "mine\(round % 4)"])
                }
                for reply in try client.pipeline(requests) {
                    if case .error = reply { failures.increment() }
                }
            } catch {
                failures.increment()
            }
        }
        XCTAssertEqual(failures.value, 0)
        XCTAssertEqual(try setup.call("REFCOUNT", "g.shared"), .integer(1))
        XCTAssertEqual(try setup.call("LEN", "g.shared"), .integer(0))
        XCTAssertEqual(try setup.call("LEN", "g.box"), .integer(8))
        let report = try info(setup, "objects")
        let objects = Int(report["objects"] ?? "") ?? -1
        XCTAssertEqual(objects, 2 + 8 + 8, "the list, the dict, its 8 str keys and 8 int values: \(report)")
        XCTAssertEqual(try setup.call("DEL", "g.shared", "g.box"), .integer(2))
    }

    func testClosingConnectionsReturnsObjectsAndBytesToBaseline() throws {
        let observer = try heapd.connect()
        let before = try info(observer)
        let socket = heapd.socketPath
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            guard let client = try? HeapConnection(socketPath: socket) else { return }
            var requests: [[String]] = [["NEW", "root", "list"], ["NEW", "d", "dict"]]
            for item in 0..<500 {
                requests.append(["NEW", "x", "str", "value \(item) of client \(index)"])
                requests.append(["APPEND", "root", "x"])
                requests.append(["SETITEM", "d", "k\(item)", "x"])
            }
            requests.append(["NEW", "blob", "bytes", "65536"])
            _ = try? client.pipeline(requests)
            // Closed without QUIT: the server must still release the session's references.
            client.close()
        }
        let deadline = Date().addingTimeInterval(10)
        var after = try info(observer)
        // Per-shard counters are summed without a lock, so a read while frees are in flight can be off
        // for a moment: wait until every figure is back, then assert.
        let keys = ["objects", "used_bytes", "large_bytes"]
        while keys.contains(where: { after[$0] != before[$0] }) && Date() < deadline {
            usleep(20_000)
            after = try info(observer)
        }
        XCTAssertNotNil(before["objects"])
        XCTAssertEqual(after["objects"], before["objects"])
        XCTAssertEqual(after["used_bytes"], before["used_bytes"])
        XCTAssertEqual(after["large_bytes"], before["large_bytes"])
    }

    func testMaxClientsAnswersLimit() throws {
        heapd.stop()
        heapd = try HeapdProcess(arguments: ["--max-clients", "2"])
        let first = try heapd.connect()
        // The harness's readiness probe may not even be accepted yet (another event loop): wait until
        // both connections were received and only `first` is still counted.
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let clients = try info(first, "clients")
            if clients["total_connections_received"] == "2" && clients["connected_clients"] == "1" { break }
            usleep(10_000)
        }
        let second = try heapd.connect()
        XCTAssertEqual(try second.call("PING"), .simple("PONG"))
        let third = try heapd.connect()
        XCTAssertErrorCode(try third.readReply(), "LIMIT")
        XCTAssertEqual(try first.call("PING"), .simple("PONG"))
        second.close()
        first.close()
        usleep(200_000)
    }
}

/// A counter shared by worker threads.
final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
