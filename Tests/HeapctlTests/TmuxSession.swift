import Foundation
import HeapdTesting
import XCTest

/// A real terminal for heapctl's prompt: a tmux server of its own (`tmux -S SOCKET` with the socket in the
/// test's directory, so the tests never touch anyone's sessions and leave no socket behind) running one
/// shell command in a detached session, driven with `send-keys` and read with `capture-pane`.
///
/// The server, and with it everything running in the pane, is killed by `kill()`, which `deinit` calls
/// too; tests also register it as a teardown block so that a failing assertion cannot leak it.
final class TmuxSession {
    let tmux: String
    let target = "main"
    /// Where tmux's socket and output files go.
    let directory: String
    private var socket: String { directory + "/tmux.sock" }
    private var killed = false

    /// Starts `command` (run by `sh -c`) in a 200x50 pane; skips the test when tmux is not installed.
    init(command: String, directory: String) throws {
        guard let tmux = BuildProducts.onPath("tmux") else {
            throw XCTSkip("tmux is not installed")
        }
        self.tmux = tmux
        self.directory = directory
        try run(["new-session", "-d", "-s", target, "-x", "200", "-y", "50", command])
    }

    /// Sends `keys` as tmux key names (`Enter`, `Up`, `C-c`) or literal text.
    func send(_ keys: String...) throws {
        try run(["send-keys", "-t", target] + keys)
    }

    /// The text on screen now.
    func screen() throws -> String {
        try run(["capture-pane", "-p", "-t", target]).stdout
    }

    /// Polls the screen until `condition` holds; fails the test with the screen's content if it does not
    /// within `timeout` seconds.
    @discardableResult
    func waitFor(
        _ what: String, timeout: TimeInterval = 15, file: StaticString = #filePath, line: UInt = #line,
        until condition: (String) -> Bool
    ) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var text = ""
        while Date() < deadline {
            text = try screen()
            if condition(text) {
                return text
            }
            usleep(50_000)
        }
        XCTFail("timed out waiting for \(what); the screen shows:\n\(text)", file: file, line: line)
        throw TmuxError.timedOut(what)
    }

    /// Waits until `text` appears on screen `count` times.
    @discardableResult
    func waitFor(
        _ text: String, count: Int = 1, timeout: TimeInterval = 15, file: StaticString = #filePath,
        line: UInt = #line
    ) throws -> String {
        try waitFor("\(count) x \(text.debugDescription)", timeout: timeout, file: file, line: line) {
            $0.components(separatedBy: text).count - 1 >= count
        }
    }

    /// The pid of the process the pane's shell started (heapctl), read from /proc.
    func childOfPane() throws -> Int32 {
        let shell = try run(["display-message", "-p", "-t", target, "#{pane_pid}"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let children = try String(contentsOfFile: "/proc/\(shell)/task/\(shell)/children", encoding: .utf8)
        guard let first = children.split(separator: " ").first, let pid = Int32(first) else {
            throw TmuxError.noChild
        }
        return pid
    }

    /// Kills the tmux server and everything in it; safe to call twice.
    func kill() {
        guard !killed else {
            return
        }
        killed = true
        _ = try? run(["kill-server"])
    }

    deinit {
        kill()
    }

    @discardableResult
    private func run(_ arguments: [String]) throws -> ProcessResult {
        let result = try ChildProcess.run(
            tmux, ["-S", socket] + arguments, environment: Self.environment,
            directory: directory, timeout: 15)
        guard result.status == 0 else {
            throw TmuxError.failed(arguments, result.stderr)
        }
        return result
    }

    enum TmuxError: Error {
        case failed([String], String)
        case timedOut(String)
        case noChild
    }

    /// The test's environment without `$TMUX`, which would make tmux think it runs nested in a session.
    private static var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["TMUX"] = nil
        return environment
    }

    /// `text` quoted for `sh`.
    static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }
}
