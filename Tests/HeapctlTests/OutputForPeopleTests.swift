import Foundation
import HeapClient
import HeapdTesting
import XCTest

/// heapctl's output for people and programs: HELP grouped by family and paged on a terminal only,
/// `--json` with named fields for snapshots and events (`heapctl events`), and `run`'s progress line.
final class OutputForPeopleTests: HeapctlTestCase {
    func testHelpIsGroupedByFamilyAndNotPagedIntoAPipe() throws {
        let marker = heapd.directory + "/paged"
        let result = try runHeapctl(
            ["--socket", heapd.socketPath, "--no-raw", "HELP"], environment: ["PAGER": "touch \(marker); cat"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines.first, "Connection and server")
        XCTAssertTrue(lines.contains("  PING [message]  --  replies PONG, or the message"), result.stdout)
        for heading in [
            "Creating, naming, deleting", "Containers", "Introspection", "The cycle collector (gc)", "Generators",
            "Allocation tracing (tracemalloc)", "Finding leaks and sizes",
        ] {
            XCTAssertTrue(lines.contains(heading), "\(heading) missing:\n\(result.stdout)")
        }
        XCTAssertFalse(lines.contains("Other commands"), "every heapd command has a family:\n\(result.stdout)")
        // SIZEOF sits in its family's block: after its heading, before the next blank line.
        let leaks = try XCTUnwrap(lines.firstIndex(of: "Finding leaks and sizes"))
        let block = lines[leaks...].prefix { !$0.isEmpty }
        XCTAssertTrue(block.contains { $0.hasPrefix("  SIZEOF x [DEEP [MAX n]]  --  ") }, result.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "stdout is a pipe: no pager")

        // The raw form (a pipe's default) stays heapd's lines as they are, for programs.
        let raw = try heapctl("HELP")
        XCTAssertTrue(raw.stdout.hasPrefix("PING [message]  --  "), raw.stdout)
        // One command's help is not a listing: as before.
        XCTAssertEqual(try heapctl("--no-raw", "HELP", "LEN").stdout, "LEN x\nlen(x)\n")
    }

    func testHelpIsPagedOnATerminal() throws {
        let paged = heapd.directory + "/paged.txt"
        let command =
            "PAGER='cat > \(paged)' \(heapctlPath) --socket \(heapd.socketPath) HELP; echo heapctl-exited-$?"
        let terminal = try TmuxSession(command: command + "; sleep 30", directory: heapd.directory)
        addTeardownBlock { terminal.kill() }
        try terminal.waitFor("heapctl-exited-0")
        let text = try String(contentsOfFile: paged, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("Connection and server\n  PING [message]"), text)
        XCTAssertTrue(text.contains("\nFinding leaks and sizes\n"), text)
        XCTAssertGreaterThan(text.split(separator: "\n").count, 50, "taller than the 50-line pane")
    }

    func testSnapshotsListingAndEventsHaveNamedFieldsInJSON() throws {
        let started = try heapctl("TRACEMALLOC", "START")
        XCTAssertEqual(started.status, 0, started.stderr)
        XCTAssertEqual(try heapctl("TRACEMALLOC", "TAKE_SNAPSHOT").status, 0)
        let snapshots = try heapctl("--json", "TRACEMALLOC", "SNAPSHOTS")
        XCTAssertEqual(snapshots.status, 0, snapshots.stderr)
        let parsed = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(snapshots.stdout.utf8)) as? [[String: Any]], snapshots.stdout)
        XCTAssertEqual(parsed.count, 1)
        XCTAssertEqual(parsed.first?["number"] as? Int, 1)
        XCTAssertEqual(parsed.first?["origin"] as? String, "taken")
        XCTAssertEqual(
            Set(parsed.first?.keys.map { $0 } ?? []), ["number", "traces", "bytes", "traceback_limit", "origin"])
        XCTAssertEqual(try heapctl("TRACEMALLOC", "STOP").status, 0)

        let events = try startHeapctl("events", "--json")
        defer { events.stop() }
        try waitFor(events, #"{"event":"subscribe","channel":"gc","subscribers":1}"#)
        let client = try HeapConnection(socketPath: heapd.socketPath, timeout: 30)
        defer { client.close() }
        for command in [
            ["NEW", "x", "object", "Node"], ["FINALIZER", "x"], ["NEW", "l", "list", "x"],
            ["SETATTR", "x", "me", "l"], ["DEL", "x", "l"], ["GC", "COLLECT"],
        ] {
            _ = try client.call(command)
        }
        try waitFor(events, #""event":"gc-stop","generation":2,"collected":2,"uncollectable":0,"pause_us":"#)
        let result = events.stop(signal: SIGINT)
        for line in result.stdout.split(separator: "\n") {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            XCTAssertNotNil(object?["event"] as? String, "one JSON object per line: \(line)")
        }
        XCTAssertTrue(result.stdout.contains(##"{"event":"finalizer","object":"#"##), result.stdout)
        XCTAssertTrue(result.stdout.contains(#""type":"Node"}"#), result.stdout)
    }

    func testSizeofHasNamedFieldsInJSON() throws {
        XCTAssertEqual(try heapctl("NEW", "g.l", "list").status, 0)
        XCTAssertEqual(try heapctl("--json", "SIZEOF", "g.l").stdout, #"{"python":56,"heapd":32}"# + "\n")
        XCTAssertEqual(
            try heapctl("--json", "SIZEOF", "g.l", "DEEP").stdout, #"{"python":56,"heapd":32,"objects":1}"# + "\n")
        let missing = try heapctl("--json", "SIZEOF", "g.nope")
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stdout.contains(#""error":"NOVAR""#), missing.stdout)
        XCTAssertEqual(try heapctl("DEL", "g.l").status, 0)
    }

    func testLongRunShowsProgressOnStderr() throws {
        // GC WAIT with nothing to collect times out after 1.2 s: the run is then past the 1 s delay.
        let path = try writeFile("slow.heap", "GC WAIT 1 TIMEOUT 1200\nPING\n")
        let withProgress = try heapctl("run", "-q", "--keep-going", "--progress", path)
        XCTAssertEqual(withProgress.status, 1, "the WAIT timed out: \(withProgress.stderr)")
        XCTAssertTrue(
            withProgress.stderr.contains("heapctl run: \(path):1, 1 commands, 1."), withProgress.stderr)
        // Without --progress and with stderr not a terminal: nothing.
        let without = try heapctl("run", "-q", "--keep-going", path)
        XCTAssertFalse(without.stderr.contains("heapctl run: "), without.stderr)
    }

    private func waitFor(
        _ session: RunningChild, _ text: String, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if session.stdout.contains(text) { return }
            usleep(20_000)
        }
        XCTFail("heapctl never printed \(text); it printed:\n\(session.stdout)", file: file, line: line)
        throw SubscriptionTests.NeverPrinted(text: text)
    }
}
