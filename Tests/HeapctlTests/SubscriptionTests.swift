import Foundation
import HeapClient
import HeapdTesting
import XCTest

/// After `GC SUBSCRIBE` heapctl must stop sending commands (their replies would be mixed up with pushed
/// events) and print the events instead.
final class SubscriptionTests: HeapctlTestCase {
    func testSubscribingSwitchesToPrintingEvents() throws {
        let session = try startHeapctl("--json", stdin: "GC SUBSCRIBE\nPING\n")
        defer { session.stop() }
        // --json: one object per event, with named fields.
        try waitFor(session, #"{"event":"subscribe","channel":"gc","subscribers":1}"#)

        // A cycle for the collector to find, from another connection.
        let client = try HeapConnection(socketPath: heapd.socketPath, timeout: 30)
        defer { client.close() }
        for command in [["NEW", "x", "list"], ["APPEND", "x", "x"], ["DEL", "x"], ["GC", "COLLECT"]] {
            try client.call(command)
        }
        try waitFor(session, #"{"event":"gc-stop","generation":2,"collected":1,"uncollectable":0,"pause_us":"#)

        let result = session.stop(signal: SIGINT)
        XCTAssertTrue(result.signaled)
        let lines = result.stdout.split(separator: "\n")
        XCTAssertEqual(lines.first, #"{"event":"subscribe","channel":"gc","subscribers":1}"#)
        XCTAssertEqual(lines.dropFirst().first, #"{"event":"gc-start","generation":2}"#)
        XCTAssertFalse(result.stdout.contains("PONG"), "PING was sent while subscribed:\n\(result.stdout)")
    }

    private func waitFor(
        _ session: RunningChild, _ text: String, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if session.stdout.contains(text) {
                return
            }
            usleep(20_000)
        }
        XCTFail("heapctl never printed \(text); it printed:\n\(session.stdout)", file: file, line: line)
        throw NeverPrinted(text: text)
    }

    struct NeverPrinted: Error {
        let text: String
    }
}
