import Foundation
import HeapClient
import HeapProtocol
import HeapdTesting
import Synchronization
import XCTest

/// `GC WAIT`, `GC GET_UNREACHABLE` and the CPython rules of `GC FREEZE`, `GC GET_REFERRERS`,
/// `GC GET_REFERENTS` and legacy finalizers, through the real socket.
final class CollectorFidelityIntegrationTests: HeapdTestCase {
    override var extraArguments: [String] { ["--threads", "2"] }

    /// An automatic collection made deterministic: the allocation that passes threshold 0, then GC WAIT
    /// (in the same write or not), which counts from the start of that allocation's command.
    func testWaitForTheAutomaticCollectionAnAllocationTriggered() throws {
        let client = try heapd.connect()
        _ = try client.pipeline([
            ["GC", "DISABLE"], ["GC", "COLLECT"], ["GC", "SET_THRESHOLD", "1"], ["GC", "ENABLE"],
        ])
        XCTAssertEqual(try client.call("GC", "GET_COUNT"), counts(0, 0, 0))
        XCTAssertEqual(try client.call("NEW", "a", "dict"), .simple("OK"), "count0 1: not over threshold 1")
        // A separate round trip: the collection may well finish before GC WAIT arrives; it still counts.
        XCTAssertEqual(try client.call("NEW", "b", "dict"), .simple("OK"))
        XCTAssertEqual(try client.call("GC", "WAIT", "TIMEOUT", "10000"), .integer(1))
        XCTAssertEqual(try client.call("GC", "GET_COUNT"), counts(0, 1, 0), "a generation-0 collection ran")
        let replies = try client.pipeline([["NEW", "c", "dict"], ["NEW", "d", "dict"], ["GC", "WAIT", "1"]])
        XCTAssertEqual(replies[2], .integer(1))
        XCTAssertEqual(try client.call("GC", "GET_COUNT"), counts(0, 2, 0))
        _ = try client.call("GC", "DISABLE")
    }

    func testWaitTimesOutAndRefusesBadArguments() throws {
        let client = try heapd.connect()
        _ = try client.pipeline([["GC", "DISABLE"], ["GC", "COLLECT"]])
        // A first command counts from the connection, not from the server's start.
        let fresh = try heapd.connect()
        XCTAssertErrorCode(try fresh.call("GC", "WAIT", "TIMEOUT", "50"), "TIMEOUT")
        // After GC COLLECT, GC WAIT would count that collection: a command in between.
        XCTAssertEqual(try client.call("PING"), .simple("PONG"))
        let start = Date()
        XCTAssertErrorCode(try client.call("GC", "WAIT", "1", "TIMEOUT", "200"), "TIMEOUT")
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 0.19)
        XCTAssertErrorCode(try client.call("GC", "WAIT", "0"), "VALUE")
        XCTAssertErrorCode(try client.call("GC", "WAIT", "-3"), "VALUE")
        XCTAssertErrorCode(try client.call("GC", "WAIT", "1", "TIMEOUT", "-1"), "VALUE")
        XCTAssertErrorCode(try client.call("GC", "WAIT", "1", "LATER", "5"), "SYNTAX")
        XCTAssertErrorCode(try client.call("GC", "WAIT", "x"), "SYNTAX")
        XCTAssertEqual(try client.call("PING"), .simple("PONG"), "the connection stays usable")
    }

    /// A waiting client blocks only itself: another client of the same event loop is served, its
    /// explicit collection completes the wait, and the waiter's pipelined requests run after the reply.
    func testWaitBlocksOnlyItsClientAndCountsExplicitCollections() throws {
        let waiter = try heapd.connect()
        let other = try heapd.connect()
        _ = try waiter.call("GC", "DISABLE")
        try waiter.send(["GC", "WAIT", "2", "TIMEOUT", "20000"])
        try waiter.send(["PING", "after"])
        for _ in 0..<3 {
            let start = Date()
            XCTAssertEqual(try other.call("PING"), .simple("PONG"))
            XCTAssertLessThan(Date().timeIntervalSince(start), 1)
        }
        XCTAssertEqual(try other.call("GC", "COLLECT", "0"), .integer(0))
        XCTAssertEqual(try other.call("GC", "COLLECT", "0"), .integer(0))
        XCTAssertEqual(try waiter.readReply(), .integer(2))
        XCTAssertEqual(try waiter.readReply(), .bulk(Array("after".utf8)))
        // A client that hangs up while waiting leaves the server healthy.
        let quitter = try heapd.connect()
        try quitter.send(["GC", "WAIT"])
        quitter.close()
        XCTAssertEqual(try other.call("PING"), .simple("PONG"))
        XCTAssertEqual(try other.call("GC", "COLLECT", "0"), .integer(0))
        XCTAssertEqual(try other.call("PING"), .simple("PONG"))
    }

    /// Many clients wait for collections at once while they allocate cyclic garbage (automatic
    /// collections), another collects explicitly all along, and some hang up mid-wait: every wait
    /// completes with a count, and the heap stays exact.
    func testManyWaitersWhileCollectionsRun() throws {
        let setup = try heapd.connect()
        _ = try setup.pipeline([["GC", "SET_THRESHOLD", "20"], ["GC", "ENABLE"]])
        let socket = heapd.socketPath
        let failures = Mutex<[String]>([])
        let stop = Atomic<Bool>(false)
        let collectorDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            defer { collectorDone.signal() }
            guard let client = try? HeapConnection(socketPath: socket) else { return }
            while !stop.load(ordering: .relaxed) { _ = try? client.call("GC", "COLLECT", "0") }
        }
        DispatchQueue.concurrentPerform(iterations: 6) { worker in
            do {
                let client = try HeapConnection(socketPath: socket)
                for round in 0..<30 {
                    let replies = try client.pipeline([
                        ["NEW", "x", "list"], ["APPEND", "x", "x"], ["NEW", "y", "list", "x"], ["DEL", "x", "y"],
                        ["GC", "WAIT", "1", "TIMEOUT", "10000"],
                    ])
                    guard case .integer(let count) = replies[4], count >= 1 else {
                        failures.withLock { $0.append("worker \(worker) round \(round): \(replies[4])") }
                        continue
                    }
                    if worker == 1 && round % 10 == 0 {
                        let quitter = try HeapConnection(socketPath: socket)
                        try quitter.send(["GC", "WAIT", "1000"])
                        quitter.close()
                    }
                }
            } catch {
                failures.withLock { $0.append("worker \(worker): \(error)") }
            }
        }
        stop.store(true, ordering: .relaxed)
        collectorDone.wait()
        XCTAssertEqual(failures.withLock { $0 }, [])
        _ = try setup.call("GC", "DISABLE")
        let verdict = try setup.call("DEBUG", "VERIFY")
        guard case .simple(let text) = verdict, text.hasPrefix("OK") else {
            return XCTFail("heap inconsistent: \(verdict)")
        }
    }

    func testGetUnreachableListsWhatTheNextFullCollectionFinds() throws {
        let client = try heapd.connect()
        _ = try client.pipeline([
            ["GC", "DISABLE"], ["GC", "COLLECT"], ["NEW", "keep", "list"], ["APPEND", "keep", "keep"],
            ["NEW", "a", "list"], ["NEW", "b", "list"], ["APPEND", "a", "b"], ["APPEND", "b", "a"],
        ])
        let ids = try client.pipeline([["ID", "a"], ["ID", "b"]]).map { reply -> String in
            guard case .integer(let id) = reply else { return "?" }
            return "#\(id) list"
        }
        XCTAssertEqual(try client.call("GC", "GET_UNREACHABLE"), .array([.integer(0), .array([])]))
        _ = try client.call("DEL", "a", "b")
        guard case .array(let all) = try client.call("GC", "GET_UNREACHABLE"), case .array(let listed) = all[1]
        else { return XCTFail("page shape") }
        XCTAssertEqual(all[0], .integer(0))
        XCTAssertEqual(Set(listed.compactMap(bulkText)), Set(ids), "the cycle, not the reachable self-loop")
        guard case .array(let page) = try client.call("GC", "GET_UNREACHABLE", "COUNT", "1"),
            case .integer(let cursor) = page[0], case .array(let first) = page[1]
        else { return XCTFail("page shape") }
        XCTAssertNotEqual(cursor, 0)
        guard case .array(let rest) = try client.call("GC", "GET_UNREACHABLE", "CURSOR", "\(cursor)"),
            case .array(let second) = rest[1]
        else { return XCTFail("page shape") }
        XCTAssertEqual(rest[0], .integer(0))
        XCTAssertEqual(Set((first + second).compactMap(bulkText)), Set(ids))
        XCTAssertEqual(
            try client.call("GC", "GET_UNREACHABLE", "CURSOR", "\(Int64.max)"), .array([.integer(0), .array([])]))
        XCTAssertErrorCode(try client.call("GC", "GET_UNREACHABLE", "COUNT", "0"), "SYNTAX")
        XCTAssertEqual(try client.call("GC", "COLLECT"), .integer(2))
        XCTAssertEqual(try client.call("GC", "GET_UNREACHABLE"), .array([.integer(0), .array([])]))
    }

    /// The example: a legacy finalizer hanging off a collectable cycle dies with it.
    func testLegacyFinalizerHangingOffACycle() throws {
        let client = try heapd.connect()
        let replies = try client.pipeline([
            ["GC", "DISABLE"], ["GC", "COLLECT"], ["NEW", "l", "list"], ["APPEND", "l", "l"],
            ["NEW", "o", "object", "Node"], ["FINALIZER", "o", "LEGACY"], ["APPEND", "l", "o"], ["DEL", "o"],
            ["DEL", "l"], ["GC", "COLLECT", "2"], ["GC", "GARBAGE"],
        ])
        XCTAssertEqual(replies[9], .integer(1))
        XCTAssertEqual(replies[10], .array([.integer(0), .array([])]))
        XCTAssertEqual(try info(client, "objects")["objects"], "0")
    }

    /// `x = gc.garbage[0]` lets a program break an uncollectable cycle, as Python code does.
    func testGarbageGetItemBindsAnEntry() throws {
        let client = try heapd.connect()
        let replies = try client.pipeline([
            ["GC", "DISABLE"], ["GC", "COLLECT"], ["NEW", "o", "object", "Node"], ["SETATTR", "o", "me", "o"],
            ["FINALIZER", "o", "LEGACY"], ["DEL", "o"], ["GC", "COLLECT"],
        ])
        XCTAssertEqual(replies[6], .integer(1))
        XCTAssertErrorCode(try client.call("GC", "GARBAGE", "GETITEM", "x", "1"), "INDEX")
        XCTAssertErrorCode(try client.call("GC", "GARBAGE", "GETITEM", "x", "\(Int64.min)"), "INDEX")
        XCTAssertEqual(
            bulkText(try client.call("GC", "GARBAGE", "GETITEM", "x", "-1"))?.hasPrefix("<Node object"), true)
        _ = try client.pipeline([["DELATTR", "x", "me"], ["GC", "GARBAGE", "CLEAR"]])
        XCTAssertEqual(try client.call("REFCOUNT", "x"), .integer(1), "only x holds it now")
        _ = try client.call("DEL", "x")
        XCTAssertEqual(try info(client, "objects")["objects"], "0")
    }

    func testFreezeReferrersAndReferentsAsCPython() throws {
        let client = try heapd.connect()
        _ = try client.pipeline([
            ["GC", "DISABLE"], ["NEW", "x", "list"], ["NEW", "holder", "list", "x"], ["NEW", "d", "dict"],
            ["SETITEM", "d", "key", "x"], ["NEW", "n", "object", "Node"], ["SETATTR", "n", "attr", "x"],
        ])
        XCTAssertEqual(try client.call("GC", "FREEZE"), .simple("OK"))
        XCTAssertEqual(try client.call("GC", "GET_COUNT"), counts(0, 0, 0))
        XCTAssertEqual(
            try client.call("GC", "GET_REFERRERS", "x"), .array([.integer(0), .array([])]),
            "frozen referrers are not searched")
        _ = try client.call("GC", "UNFREEZE")
        guard case .array(let page) = try client.call("GC", "GET_REFERRERS", "x"), case .array(let found) = page[1]
        else { return XCTFail("page shape") }
        XCTAssertEqual(found.count, 3, "the list, the dict (by value) and the instance")
        guard case .integer(let xID) = try client.call("ID", "x") else { return XCTFail("ID") }
        XCTAssertEqual(try client.call("GC", "GET_REFERENTS", "d"), .array([.bulk(Array("#\(xID) list".utf8))]))
        guard case .array(let ofInstance) = try client.call("GC", "GET_REFERENTS", "n") else {
            return XCTFail("referents shape")
        }
        XCTAssertEqual(ofInstance.count, 2, "the attribute value and the class, not the attribute name")
        XCTAssertEqual(ofInstance.first, .bulk(Array("#\(xID) list".utf8)))
    }

    private func counts(_ a: Int64, _ b: Int64, _ c: Int64) -> Reply {
        .array([.integer(a), .integer(b), .integer(c)])
    }
}
