import Foundation
import HeapdTesting
import XCTest

/// `heapctl run FILE`: transcript, stopping at errors, --keep-going, --json, stdin scripts.
final class ScriptTests: HeapctlTestCase {
    /// Line 5 fails; lines 2-4 set up, line 6 would run after it.
    let script = """
        # Two names for one list, then a mistake.
        NEW a list
        SET b a

        DEL nope
        GETREFCOUNT a

        """

    func testStopsAtTheFirstErrorAndNamesTheLine() throws {
        let path = try writeFile("broken.heap", script)
        let result = try heapctl("run", path)
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(
            result.stdout,
            """
            2> NEW a list
            OK
            3> SET b a
            OK
            5> DEL nope
            (error) NOVAR no variable named 'nope'

            """)
        XCTAssertTrue(result.stderr.contains("\(path):5: DEL nope: NOVAR"), result.stderr)
        XCTAssertTrue(result.stderr.contains("--keep-going"), result.stderr)
    }

    func testKeepGoingRunsTheRestAndStillFails() throws {
        let path = try writeFile("broken.heap", script)
        let result = try heapctl("run", path, "--keep-going")
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stdout.hasSuffix("6> GETREFCOUNT a\n(integer) 3\n"), result.stdout)
        XCTAssertTrue(result.stderr.contains("\(path): 1 of 4 commands failed (line 5)"), result.stderr)
    }

    func testJSONPrintsOneObjectPerCommand() throws {
        let path = try writeFile("broken.heap", script)
        let result = try heapctl("run", path, "--json", "--keep-going")
        XCTAssertEqual(result.status, 1)
        let objects = try result.stdout.split(separator: "\n").map { line in
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
        }
        XCTAssertEqual(objects.map { $0["line"] as? Int }, [2, 3, 5, 6])
        XCTAssertEqual(
            objects.map { $0["command"] as? String }, ["NEW a list", "SET b a", "DEL nope", "GETREFCOUNT a"])
        XCTAssertEqual(objects[0]["reply"] as? String, "OK")
        XCTAssertEqual((objects[2]["reply"] as? [String: String])?["error"], "NOVAR")
        XCTAssertEqual(objects[3]["reply"] as? Int, 3)
    }

    func testScriptFromStdin() throws {
        let good = try heapctl("run", "-", stdin: "NEW a list\nGETREFCOUNT a\n")
        XCTAssertEqual(good.status, 0, good.stderr)
        XCTAssertEqual(good.stdout, "1> NEW a list\nOK\n2> GETREFCOUNT a\n(integer) 2\n")

        let bad = try heapctl("run", "-", stdin: script)
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("<stdin>:5:"), bad.stderr)
    }

    func testOptionsWorkBeforeAndAfterRun() throws {
        let path = try writeFile("ping.heap", "PING\n")
        let after = try runHeapctl(["run", path, "--socket", heapd.socketPath])
        XCTAssertEqual(after.stdout, "1> PING\nPONG\n")
        let before = try runHeapctl(["--json", "--socket", heapd.socketPath, "run", path])
        XCTAssertEqual(before.stdout, #"{"line":1,"command":"PING","reply":"PONG"}"# + "\n")
    }

    func testCommentsFlagEchoesCommentsAndQuitEndsTheScript() throws {
        let path = try writeFile("narrated.heap", "# say hello\nECHO hello\n\nquit\nDEL nope\n")
        let result = try heapctl("run", "--comments", path)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "# say hello\n2> ECHO hello\n\"hello\"\n\n")
    }

    func testUnreadableScriptAndUnreachableDaemon() throws {
        let missing = try heapctl("run", heapd.directory + "/missing.heap")
        XCTAssertEqual(missing.status, 66)
        XCTAssertTrue(missing.stderr.contains("cannot read"), missing.stderr)

        let path = try writeFile("ping.heap", "PING\n")
        let unreachable = try runHeapctl(["--socket", heapd.directory + "/missing.sock", "run", path])
        XCTAssertEqual(unreachable.status, 2)
        XCTAssertTrue(unreachable.stderr.contains("could not connect to heapd at"), unreachable.stderr)
    }
}
