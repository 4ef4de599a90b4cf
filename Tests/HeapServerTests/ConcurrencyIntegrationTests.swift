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

    /// Globals are read without the namespace's lock through each session's cache of ids: a reader
    /// racing writers that rebind, delete and recreate the names (freeing what they held, reusing the
    /// slots) sees only objects the names held, never a freed or foreign one, and sees each change.
    func testReadersOfGlobalsSeeEveryRebindingAndNoStaleObject() throws {
        let setup = try heapd.connect()
        _ = try setup.pipeline([["NEW", "g.a", "int", "1"], ["NEW", "g.b", "str", "b"]])
        let socket = heapd.socketPath
        let failures = LockedLines()
        DispatchQueue.concurrentPerform(iterations: 6) { index in
            do {
                let client = try HeapConnection(socketPath: socket)
                defer { client.close() }
                for round in 0..<150 {
                    if index < 2 {
                        // Writers: a new object under each name, or the name gone for a moment.
                        _ = try client.pipeline([
                            ["NEW", "g.a", "int", "\(round)"], ["DEL", "g.b"], ["NEW", "t", "list"],
                            ["NEW", "g.b", "str", "b\(round)"], ["DEL", "t"],
                        ])
                    } else {
                        for reply in try client.pipeline([["TYPE", "g.a"], ["TYPE", "g.b"], ["GETREFCOUNT", "g.a"]]) {
                            switch reply {
                            case .simple("int"), .simple("str"), .integer: break
                            case .error(let code, _) where code == "NOVAR": break
                            default: failures.append("\(reply)")
                            }
                        }
                    }
                }
            } catch {
                failures.append("\(error)")
            }
        }
        XCTAssertEqual(failures.all, [])
        // After the writers: every reader sees the last binding, whatever its cache held.
        let reader = try heapd.connect()
        XCTAssertEqual(try reader.call("REPR", "g.a"), .bulk(Array("149".utf8)))
        // The old object stays alive (a local holds it): only the version tells the reader it moved.
        _ = try setup.pipeline([["SET", "keep", "g.a"], ["NEW", "g.a", "str", "last"]])
        XCTAssertEqual(try reader.call("REPR", "g.a"), .bulk(Array("'last'".utf8)))
        _ = try setup.call("DEL", "g.a")
        XCTAssertErrorCode(try reader.call("TYPE", "g.a"), "NOVAR")
        _ = try setup.call("DEL", "g.b")
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

/// Lines that threads note, read once they are joined.
final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}
