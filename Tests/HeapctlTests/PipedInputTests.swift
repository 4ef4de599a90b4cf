import Foundation
import HeapdTesting
import XCTest

/// `heapctl < FILE`: stdin's lines over one connection, like `redis-cli < FILE`.
final class PipedInputTests: HeapctlTestCase {
    func testLinesShareOneSessionAndSkipBlankAndCommentLines() throws {
        let result = try heapctl(stdin: "NEW a list\nSET b a\n\n \t \n# a comment\nGETREFCOUNT a\n")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "OK\nOK\n3\n")
    }

    func testErrorsDoNotStopTheInputButSetTheExitStatus() throws {
        let result = try heapctl(stdin: "DEL nope\nPING\n")
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stdout, "NOVAR no variable named 'nope'\n\nPONG\n")
    }

    func testLinesAreTokenizedByHeapd() throws {
        let input = """
            NEW s str "hello world"
            REPR s
            ECHO "tab\\there"
            ECHO 'single quoted'
            ECHO "unbalanced
            *3
            PING\r
            """
        let result = try heapctl("--json", stdin: input + "\n")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 7, result.stdout)
        XCTAssertEqual(Array(lines.prefix(4)), [#""OK""#, #""'hello world'""#, #""tab\there""#, #""single quoted""#])
        XCTAssertTrue(lines[4].contains(#""error":"SYNTAX""#), lines[4])
        // A leading * would start a RESP request; heapctl keeps it a command name.
        XCTAssertTrue(lines[5].contains(#""error":"UNKNOWN""#), lines[5])
        XCTAssertEqual(lines[6], #""PONG""#)
    }

    /// `REPEAT n` … `END` loops on stdin as in scripts: the first pass's replies are printed, the
    /// later passes' only when they fail; a block written wrong is reported with its line.
    func testRepeatBlocksRunOnStdin() throws {
        let result = try heapctl(stdin: "NEW g.n list\nREPEAT 3\nNEW x int 1\nAPPEND g.n x\nEND\nLEN g.n\n")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "OK\nOK\n1\n3\n", "the first pass's replies, then LEN")
        let failing = try heapctl(stdin: "REPEAT 2\nDEL nope\nEND\nPING\nEND\nREPEAT 0\nREPEAT 1\nPING\n")
        XCTAssertEqual(failing.status, 1)
        XCTAssertEqual(
            failing.stdout, "NOVAR no variable named 'nope'\n\nNOVAR no variable named 'nope'\n\nPONG\n")
        XCTAssertTrue(failing.stderr.contains("stdin line 5: END without REPEAT"), failing.stderr)
        XCTAssertTrue(failing.stderr.contains("stdin line 6: REPEAT takes a count from 1 to"), failing.stderr)
        XCTAssertTrue(failing.stderr.contains("stdin line 7: REPEAT without END"), failing.stderr)
        // The leak example that examples/README pipes into heapctl.
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/leak.heap").path
        let leak = try heapctl(stdin: try String(contentsOfFile: example, encoding: .utf8))
        XCTAssertEqual(leak.status, 0, leak.stderr)
        XCTAssertTrue(leak.stdout.hasSuffix("500\n"), leak.stdout)
        _ = try heapctl("DEL", "g.cache", "g.config", "g.n")
    }

    func testQuitEndsTheInput() throws {
        let result = try heapctl(stdin: "PING\nquit\nDEL nope\n")
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(result.stdout, "PONG\n")
    }
}
