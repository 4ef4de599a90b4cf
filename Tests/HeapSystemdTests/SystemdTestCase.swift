import Foundation
import HeapClient
import HeapdTesting
import XCTest

/// Test helpers for heapd under a service manager: a short temporary directory (sun_path holds 107
/// bytes) removed after the test, and processes (heapd, or a wrapper that execs heapd in place, or a
/// journald) started through the test kit and stopped by pid after the test even when it fails.
///
/// A child's environment is the test's minus every systemd variable (so an outer service manager cannot
/// leak in) plus what the test gives; its stdout and stderr go to one file in the test's directory.
class SystemdTestCase: XCTestCase {
    private var cleanups: [() -> Void] = []

    static let systemdVariables = [
        "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
        "JOURNAL_STREAM", "INVOCATION_ID",
    ]

    override func tearDown() {
        for cleanup in cleanups.reversed() { cleanup() }
        cleanups.removeAll()
        super.tearDown()
    }

    func onTearDown(_ cleanup: @escaping () -> Void) {
        cleanups.append(cleanup)
    }

    /// A fresh directory under /tmp, removed at tear-down.
    func makeDirectory() throws -> String {
        let path = try makeTemporaryDirectory(tag: "systemd")
        onTearDown { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    /// Starts `executable` and registers it to be stopped at tear-down. Its output goes to
    /// `outputPath`, or to a fresh file in `directory`.
    func start(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:],
        directory: String, outputPath: String? = nil
    ) throws -> RunningChild {
        var env = ProcessInfo.processInfo.environment
        for variable in Self.systemdVariables { env[variable] = nil }
        env["SWIFT_BACKTRACE"] = "enable=no"
        for (key, value) in environment { env[key] = value }
        let output = outputPath ?? directory + "/output-\(UUID().uuidString.prefix(8)).txt"
        let child = try ChildProcess.start(
            executable, arguments, environment: env, directory: directory, stdoutPath: output, stderrPath: output)
        onTearDown { child.stop(signal: SIGKILL, timeout: 5) }
        return child
    }

    /// Starts the heapd under test with `arguments`.
    func startHeapd(
        _ arguments: [String], environment: [String: String] = [:], directory: String
    ) throws -> RunningChild {
        try start(BuildProducts.heapd, arguments, environment: environment, directory: directory)
    }

    /// Connects to `path`, retrying until `timeout`; fails the test with the child's stderr otherwise.
    func connect(_ path: String, timeout: Double = 20, process: RunningChild? = nil) throws -> HeapConnection {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let connection = try? HeapConnection(socketPath: path, timeout: 10) { return connection }
            if let process, !process.isRunning {
                XCTFail(
                    "the process exited (status \(process.stop().status)) before \(path) accepted; stderr: \(process.stderr)"
                )
                throw CocoaError(.fileReadUnknown)
            }
            if Date() > deadline {
                XCTFail("no connection to \(path) within \(timeout)s; stderr: \(process?.stderr ?? "")")
                throw CocoaError(.fileReadUnknown)
            }
            usleep(20_000)
        }
    }

    /// Whether something accepts on `path` right now (one attempt, no retry).
    func isConnectable(_ path: String) -> Bool {
        guard let connection = try? HeapConnection(socketPath: path, timeout: 2) else { return false }
        connection.close()
        return true
    }
}
