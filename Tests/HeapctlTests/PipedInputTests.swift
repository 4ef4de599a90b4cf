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

    func testQuitEndsTheInput() throws {
        let result = try heapctl(stdin: "PING\nquit\nDEL nope\n")
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(result.stdout, "PONG\n")
    }
}
