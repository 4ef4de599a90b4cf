import Foundation
import HeapdTesting
import XCTest

/// `heapctl COMMAND ARG...`: reply formats, exit statuses and argument passing.
final class OneShotTests: HeapctlTestCase {
    func testRepliesAreRawIntoAFileAndHumanOnRequest() throws {
        // Each heapctl run is its own connection, so the object lives in a global to outlast it.
        XCTAssertEqual(try heapctl("NEW", "g.a", "list").stdout, "OK\n")

        let human = try heapctl("--no-raw", "GETREFCOUNT", "g.a")
        XCTAssertEqual(human.status, 0)
        XCTAssertEqual(human.stdout, "(integer) 2\n")
        XCTAssertEqual(human.stderr, "")

        // stdout is a file here, so the default is redis-cli's raw form.
        XCTAssertEqual(try heapctl("GETREFCOUNT", "g.a").stdout, "2\n")
        XCTAssertEqual(try heapctl("--raw", "GETREFCOUNT", "g.a").stdout, "2\n")

        XCTAssertEqual(try heapctl("--no-raw", "ECHO", "a b").stdout, "\"a b\"\n")
        XCTAssertEqual(try heapctl("ECHO", "a b").stdout, "a b\n")
        XCTAssertEqual(try heapctl("--no-raw", "VARS", "GLOBALS").stdout, "1) \"g.a\"\n2) \"[]\"\n")
    }

    func testErrorReplyPrintsLikeRedisCliAndExitsOne() throws {
        let human = try heapctl("--no-raw", "DEL", "nope")
        XCTAssertEqual(human.status, 1)
        XCTAssertEqual(human.stdout, "(error) NOVAR no variable named 'nope'\n")
        XCTAssertEqual(human.stderr, "")

        // redis-cli's raw form of an error: the text and a blank line.
        let raw = try heapctl("DEL", "nope")
        XCTAssertEqual(raw.status, 1)
        XCTAssertEqual(raw.stdout, "NOVAR no variable named 'nope'\n\n")
    }

    func testJSONOutputParses() throws {
        XCTAssertEqual(try heapctl("NEW", "g.a", "list").status, 0)
        let count = try heapctl("--json", "GETREFCOUNT", "g.a")
        XCTAssertEqual(try json(count.stdout) as? Int, 2)

        let help = try XCTUnwrap(try json(heapctl("--json", "HELP", "SET").stdout) as? [String])
        XCTAssertEqual(help.first, "SET target source")

        let failed = try heapctl("--json", "DEL", "nope")
        XCTAssertEqual(failed.status, 1)
        let error = try XCTUnwrap(try json(failed.stdout) as? [String: String])
        XCTAssertEqual(error["error"], "NOVAR")
        XCTAssertEqual(error["message"], "no variable named 'nope'")
    }

    func testWordsAfterTheCommandGoToHeapdUnparsed() throws {
        XCTAssertEqual(try heapctl("ECHO", "--json").stdout, "--json\n")
        XCTAssertEqual(try heapctl("ECHO", "-h").stdout, "-h\n")
        XCTAssertEqual(try heapctl("NEW", "g.n", "int", "-5").status, 0)
        XCTAssertEqual(try heapctl("REPR", "g.n").stdout, "-5\n")
        // The shell already removed the quoting: the value goes as one argument, quotes included.
        XCTAssertEqual(try heapctl("ECHO", #"say "hi""#).stdout, "say \"hi\"\n")
    }

    func testInfoReadsAsLinesForPeople() throws {
        let info = try heapctl("--no-raw", "INFO", "objects")
        XCTAssertEqual(info.status, 0)
        XCTAssertTrue(info.stdout.hasPrefix("# Objects\nobjects:0\n"), info.stdout)
        XCTAssertFalse(info.stdout.contains("\r"))
        XCTAssertFalse(info.stdout.hasSuffix("\n\n"))
    }

    func testUnreachableDaemonExitsTwoWithAHint() throws {
        let missing = heapd.directory + "/missing.sock"
        let result = try runHeapctl(["--socket", missing, "PING"])
        XCTAssertEqual(result.status, 2)
        XCTAssertEqual(result.stdout, "")
        XCTAssertTrue(result.stderr.contains("could not connect to heapd at \(missing): "), result.stderr)
        XCTAssertTrue(result.stderr.contains("(is heapd running?)"), result.stderr)
    }

    func testDefaultSocketComesFromTheEnvironment() throws {
        let result = try runHeapctl(["PING"], environment: ["HEAPD_SOCKET": heapd.socketPath])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "PONG\n")
    }

    func testCommandLineMistakesAreUsageErrors() throws {
        XCTAssertEqual(try heapctl("--sockt", "x", "PING").status, 64)
        XCTAssertEqual(try heapctl("--json", "--raw", "PING").status, 64)
        let help = try runHeapctl(["--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("heapctl [options] run FILE"), help.stdout)
    }

    private func json(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    /// A command heapd does not know gets the nearest view or heapd command as a hint on stderr.
    func testUnknownCommandsGetADidYouMean() throws {
        let view = try heapctl("typs")
        XCTAssertEqual(view.status, 1)
        XCTAssertTrue(view.stderr.contains("did you mean 'heapctl types'?"), view.stderr)
        XCTAssertTrue(try heapctl("GC", "COLECT").stderr.contains("did you mean 'GC COLLECT'?"))
        XCTAssertTrue(try heapctl("PNIG").stderr.contains("did you mean 'PING'?"))
        XCTAssertFalse(try heapctl("XYZZY").stderr.contains("did you mean"))
        XCTAssertFalse(try heapctl("GC", "COLLECT", "7").stderr.contains("did you mean"), "not UNKNOWN")
    }

    /// A command-line mistake prints the error, the usage line and where the help is: not the help.
    func testAMistakeGetsTheUsageNotTheWholeHelp() throws {
        for words in [["run"], ["graph"], ["types", "--limit", "0"]] {
            let result = try runHeapctl(["--socket", heapd.socketPath] + words)
            XCTAssertEqual(result.status, 64, "\(words)")
            XCTAssertLessThan(result.stderr.split(separator: "\n").count, 8, result.stderr)
            XCTAssertTrue(result.stderr.contains("--help' for more."), result.stderr)
        }
        XCTAssertTrue(try heapctl("run").stderr.contains("Missing expected argument '<file>'"))
        XCTAssertTrue(try heapctl("run", "--help").stdout.contains("OVERVIEW"), "help still prints in full")
    }
}
