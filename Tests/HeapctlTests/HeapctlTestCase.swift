import Foundation
import HeapdTesting
import XCTest

/// A test with its own heapd (the test kit's ``HeapdTestCase``: checked with `DEBUG VERIFY` after the
/// test, heapctl must leave the heap consistent, and stopped) and the heapctl binary to run against it.
class HeapctlTestCase: HeapdTestCase {
    /// No command time limit: a debug build runs the examples' million-item loops 10-20× slower than a
    /// release build does (HeapServerTests test the limit itself).
    override var extraArguments: [String] { ["--log-level", "warning", "--command-time-limit", "0"] }

    /// The heapctl binary under test.
    let heapctlPath = BuildProducts.heapctl

    /// The environment heapctl runs in: the test's, without anything that would point it at another
    /// heapd, with `$HOME` in the temporary directory so no real history file is touched.
    func heapctlEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["HEAPD_SOCKET"] = nil
        environment["XDG_RUNTIME_DIR"] = nil
        environment["HEAPCTL_HISTFILE"] = nil
        environment["HOME"] = heapd.directory
        for (key, value) in extra {
            environment[key] = value
        }
        return environment
    }

    /// Runs heapctl with `arguments` exactly as given (no `--socket` added).
    func runHeapctl(
        _ arguments: [String], stdin: String? = nil, environment: [String: String] = [:],
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> ProcessResult {
        try ChildProcess.run(
            heapctlPath, arguments, environment: heapctlEnvironment(environment),
            stdin: stdin.map { Data($0.utf8) }, directory: heapd.directory, file: file, line: line)
    }

    /// Runs heapctl against this test's heapd: `--socket PATH` and then `arguments`.
    func heapctl(
        _ arguments: String..., stdin: String? = nil, file: StaticString = #filePath, line: UInt = #line
    ) throws -> ProcessResult {
        try runHeapctl(["--socket", heapd.socketPath] + arguments, stdin: stdin, file: file, line: line)
    }

    /// Starts heapctl against this test's heapd without waiting for it, for sessions that run until
    /// stopped.
    func startHeapctl(_ arguments: String..., stdin: String? = nil) throws -> RunningChild {
        try ChildProcess.start(
            heapctlPath, ["--socket", heapd.socketPath] + arguments, environment: heapctlEnvironment(),
            stdin: stdin.map { Data($0.utf8) }, directory: heapd.directory)
    }

    /// Writes `text` to a file in the temporary directory and returns its path.
    func writeFile(_ name: String, _ text: String) throws -> String {
        let path = heapd.directory + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }
}
