import Foundation
import HeapClient
import HeapProtocol
import HeapdTesting
import XCTest

/// The collector through the real socket: GC COLLECT frees the seed's cycle, events reach
/// subscribers, and many clients mutating shared containers while it runs leave an exact heap.
final class CollectorIntegrationTests: HeapdTestCase {
    override var extraArguments: [String] { ["--threads", "4", "--enable-test-commands"] }

    func testCollectFreesTheTwoObjectCycle() throws {
        let client = try heapd.connect()
        XCTAssertEqual(try client.call("GC", "DISABLE"), .simple("OK"))
        _ = try client.pipeline([
            ["NEW", "x", "list"], ["NEW", "y", "list"], ["APPEND", "x", "y"], ["APPEND", "y", "x"],
        ])
        XCTAssertEqual(try client.call("DEL", "x", "y"), .integer(2))
        XCTAssertEqual(try info(client, "objects")["objects"], "2", "refcounting alone cannot free the cycle")
        XCTAssertEqual(try client.call("GC", "COLLECT"), .integer(2))
        XCTAssertEqual(try info(client, "objects")["objects"], "0")
        guard case .array(let stats) = try client.call("GC", "GET_STATS"), case .array(let full) = stats[2] else {
            return XCTFail("GET_STATS shape")
        }
        XCTAssertEqual(full[1], .integer(1), "one full collection")
        XCTAssertEqual(full[3], .integer(2), "two collected")
        XCTAssertErrorCode(try client.call("GC", "COLLECT", "3"), "VALUE")
        XCTAssertEqual(try client.call("GC", "ISENABLED"), .integer(0))
    }

    func testSubscribersReceiveCollectionFinalizerAndWeakrefEvents() throws {
        let listener = try heapd.connect()
        XCTAssertEqual(
            try listener.call("GC", "SUBSCRIBE"), .array([.bulk("subscribe"), .bulk("gc"), .integer(1)]))
        XCTAssertErrorCode(try listener.call("NEW", "a", "list"), "SUBSCRIBED")
        let client = try heapd.connect()
        _ = try client.pipeline([
            ["GC", "DISABLE"], ["NEW", "a", "object", "Node"], ["SETATTR", "a", "me", "a"], ["FINALIZER", "a"],
            ["WEAKREF", "w", "a"], ["DEL", "a"],
        ])
        XCTAssertEqual(try client.call("GC", "COLLECT", "0"), .integer(1))
        var kinds: [String] = []
        while kinds.count < 4 {
            guard case .array(let event) = try listener.readReply(), let kind = event.first.flatMap(bulkText) else {
                return XCTFail("event shape")
            }
            kinds.append(kind)
            if kind == "gc-stop" { XCTAssertEqual(Array(event[1...3]), [.integer(0), .integer(1), .integer(0)]) }
        }
        XCTAssertEqual(kinds, ["gc-start", "weakref-cleared", "finalizer", "gc-stop"])
        XCTAssertEqual(bulkText(try client.call("DEREF", "t", "w")), "None")
    }

    func testGetObjectsPagesWithACursor() throws {
        let client = try heapd.connect()
        _ = try client.call("GC", "DISABLE")
        _ = try client.call("GC", "COLLECT")
        var requests: [[String]] = [["NEW", "root", "list"]]
        for _ in 0..<250 { requests += [["NEW", "x", "list"], ["APPEND", "root", "x"]] }
        _ = try client.pipeline(requests)
        var cursor = "0"
        var seen = 0
        var pages = 0
        repeat {
            guard case .array(let page) = try client.call("GC", "GET_OBJECTS", "0", "CURSOR", cursor, "COUNT", "100"),
                case .integer(let next) = page[0], case .array(let items) = page[1]
            else { return XCTFail("page shape") }
            seen += items.count
            pages += 1
            cursor = String(next)
        } while cursor != "0" && pages < 100
        XCTAssertEqual(seen, 251)
        XCTAssertGreaterThanOrEqual(pages, 3)
        guard case .array(let referrers) = try client.call("GC", "GET_REFERRERS", "x"),
            case .array(let items) = referrers[1]
        else { return XCTFail("referrers shape") }
        XCTAssertEqual(items.count, 1)
    }

    func testSixteenClientsMutateWhileTheCollectorRunsContinuously() throws {
        let setup = try heapd.connect()
        _ = try setup.pipeline([
            ["GC", "SET_THRESHOLD", "50", "5", "5"], ["NEW", "g.hub", "list"], ["NEW", "g.map", "dict"],
        ])
        let socket = heapd.socketPath
        let failures = LockedCounter()
        let stop = LockedCounter()
        // A client that keeps asking for full collections while the others mutate.
        let finished = DispatchSemaphore(value: 0)
        let collectorThread = Thread {
            defer { finished.signal() }
            guard let client = try? HeapConnection(socketPath: socket) else { return }
            var round = 0
            while stop.value == 0 {
                _ = try? client.call("GC", "COLLECT", String(round % 3))
                round += 1
            }
        }
        collectorThread.start()
        DispatchQueue.concurrentPerform(iterations: 16) { index in
            do {
                let client = try HeapConnection(socketPath: socket)
                defer { client.close() }
                for round in 0..<40 {
                    var requests: [[String]] = [
                        ["NEW", "a", "list"], ["NEW", "b", "object", "Node"], ["SETATTR", "b", "a", "a"],
                        ["APPEND", "a", "b"], ["APPEND", "g.hub", "a"], ["SETITEM", "g.map", "k\(index)", "b"],
                        ["NEW", "c", "dict"], ["SETITEM", "c", "self", "c"], ["DEL", "c"],
                    ]
                    if round % 2 == 1 { requests.append(["POP", "p", "g.hub", "0"]) }
                    requests.append(["DEL", "a", "b"])
                    for reply in try client.pipeline(requests) {
                        if case .error(let code, _) = reply, code != "INDEX" { failures.increment() }
                    }
                }
            } catch {
                failures.increment()
            }
        }
        stop.increment()
        finished.wait()
        XCTAssertEqual(failures.value, 0)
        guard case .array(let stats) = try setup.call("GC", "GET_STATS") else { return XCTFail("stats") }
        for (generation, entry) in stats.enumerated() {
            guard case .array(let fields) = entry, case .integer(let collections) = fields[1] else {
                return XCTFail("stats shape")
            }
            XCTAssertGreaterThan(collections, 0, "generation \(generation) was collected while clients mutated")
        }
        let verdict = try setup.call("DEBUG", "VERIFY")
        guard case .simple(let text) = verdict, text.hasPrefix("OK") else { return XCTFail("\(verdict)") }
        _ = try setup.pipeline([["DEL", "g.hub", "g.map"], ["GC", "COLLECT"]])
        // Closed clients' sessions may still be releasing their variables: collect until done, bounded.
        let deadline = Date().addingTimeInterval(10)
        while try info(setup, "objects")["objects"] != "0" && Date() < deadline {
            _ = try setup.call("GC", "COLLECT")
            usleep(20_000)
        }
        XCTAssertEqual(try info(setup, "objects")["objects"], "0", "every cycle was collected")
    }

    func testStallSwitchIsRefusedWithoutTheFlag() throws {
        heapd.stop()
        heapd = try HeapdProcess()
        let client = try heapd.connect()
        XCTAssertErrorCode(try client.call("GC", "DEBUG_STALL", "1"), "DENIED")
    }
}
