import Foundation
import HeapdTesting
import XCTest

/// The `heapd>` prompt in a real terminal (tmux): typing, editing keys, history, and the terminal being
/// restored however heapctl ends.
final class InteractivePromptTests: HeapctlTestCase {
    private var terminals: [TmuxSession] = []

    override func tearDownWithError() throws {
        for terminal in terminals {
            terminal.kill()
        }
        terminals = []
        try super.tearDownWithError()
    }

    func testTypedCommandsShareASessionAndUpRecallsHistory() throws {
        let terminal = try startPrompt()
        try type(terminal, "NEW a list", "Enter")
        try waitForLine(terminal, "OK")
        try type(terminal, "GETREFCOUNT a", "Enter")
        try waitForLine(terminal, "(integer) 2")
        try type(terminal, "SET b a", "Enter")
        try waitForLine(terminal, "OK", count: 2)

        // Up twice skips SET b a and brings back GETREFCOUNT a; b now holds a reference too.
        try type(terminal, "Up", "Up", "Enter")
        let screen = try waitForLine(terminal, "(integer) 3")
        XCTAssertEqual(lines(screen).filter { $0.hasSuffix("> GETREFCOUNT a") }.count, 2, screen)

        // Left arrow moves the cursor back into the word to fix a typo.
        try type(terminal, "ECHO hllo", "Left", "Left", "Left", "e", "Enter")
        try waitForLine(terminal, "\"hello\"")

        try type(terminal, "quit", "Enter")
        try waitForLine(terminal, "heapctl exited 0")
        try waitForLine(terminal, "tty:icanon:echo")

        let history = try String(contentsOfFile: heapd.directory + "/.heapctl_history", encoding: .utf8)
        XCTAssertEqual(
            history, "NEW a list\nGETREFCOUNT a\nSET b a\nGETREFCOUNT a\nECHO hello\nquit\n")
    }

    /// At the prompt, `REPEAT n` reads the block at a `... ` prompt up to `END`, then runs it. (END is
    /// typed in two parts: as one word, tmux takes it for the End key.)
    func testRepeatAtThePrompt() throws {
        let terminal = try startPrompt()
        try type(terminal, "NEW n list", "Enter")
        try waitForLine(terminal, "OK")
        try type(terminal, "REPEAT 4", "Enter", "NEW x int 1", "Enter", "APPEND n x", "Enter", "E", "ND", "Enter")
        try waitForLine(terminal, "(integer) 1")
        try type(terminal, "LEN n", "Enter")
        try waitForLine(terminal, "(integer) 4")
        try type(terminal, "quit", "Enter")
        try waitForLine(terminal, "heapctl exited 0")
    }

    func testCtrlCDropsTheLineSavedHistoryLoadsAndCtrlDLeaves() throws {
        let terminal = try startPrompt(history: "ECHO from-history\n")
        try type(terminal, "DEL a", "C-c")
        try waitFor(terminal, "the ^C mark") { self.lines($0).contains { $0.hasSuffix("> DEL a^C") } }
        try type(terminal, "PING", "Enter")
        let screen = try waitForLine(terminal, "PONG")
        XCTAssertFalse(screen.contains("(error)"), "the abandoned DEL ran:\n\(screen)")

        // Up once is PING, twice the line from the previous session's history file.
        try type(terminal, "Up", "Up", "Enter")
        try waitForLine(terminal, "\"from-history\"")

        try type(terminal, "C-d")
        try waitForLine(terminal, "heapctl exited 0")
        try waitForLine(terminal, "tty:icanon:echo")
    }

    func testTerminalIsRestoredWhenASignalKillsThePrompt() throws {
        let terminal = try startPrompt()
        try type(terminal, "half typed")
        try waitFor(terminal, "the typed text") { self.lines($0).contains { $0.hasSuffix("> half typed") } }
        // heapctl is now in raw mode, waiting for the next key.
        kill(try terminal.childOfPane(), SIGINT)
        try waitForLine(terminal, "heapctl exited 130")
        try waitForLine(terminal, "tty:icanon:echo")
    }

    // MARK: - Helpers

    /// Starts heapctl in a tmux pane with `$HOME` in the test directory (so the default history file is
    /// used, there), optionally seeding the history file, and waits for the prompt. When heapctl ends,
    /// the pane reports its exit status and whether canonical mode and echo are back on.
    private func startPrompt(history: String? = nil) throws -> TmuxSession {
        if let history {
            _ = try writeFile(".heapctl_history", history)
        }
        let quote = TmuxSession.shellQuoted
        let command =
            "env -u HEAPCTL_HISTFILE HOME=\(quote(heapd.directory)) \(quote(heapctlPath))"
            + " --socket \(quote(heapd.socketPath)); echo \"heapctl exited $?\"; "
            + #"printf 'tty:%s:%s\n' "$(stty -a | grep -ow -- '-\?icanon')" "$(stty -a | grep -ow -- '-\?echo')"; "#
            + "sleep 600"
        let terminal = try TmuxSession(command: command, directory: heapd.directory)
        terminals.append(terminal)
        let prompt = "heapd \(heapd.socketPath)>"
        try waitFor(terminal, "the prompt") { self.lines($0).contains { $0.hasPrefix(prompt) } }
        return terminal
    }

    private func type(_ terminal: TmuxSession, _ keys: String...) throws {
        for key in keys {
            try terminal.send(key)
        }
    }

    @discardableResult
    private func waitForLine(
        _ terminal: TmuxSession, _ line: String, count: Int = 1, file: StaticString = #filePath,
        lineNumber: UInt = #line
    ) throws -> String {
        try terminal.waitFor("\(count) line(s) \(line.debugDescription)", file: file, line: lineNumber) {
            self.lines($0).filter { $0 == line }.count >= count
        }
    }

    @discardableResult
    private func waitFor(
        _ terminal: TmuxSession, _ what: String, file: StaticString = #filePath, line: UInt = #line,
        until condition: @escaping (String) -> Bool
    ) throws -> String {
        try terminal.waitFor(what, file: file, line: line, until: condition)
    }

    /// The screen's lines without the padding tmux may leave at their ends.
    private func lines(_ screen: String) -> [String] {
        screen.split(separator: "\n", omittingEmptySubsequences: false).map {
            String($0).trimmingCharacters(in: .whitespaces)
        }
    }
}
