import Foundation
import HeapClient
import XCTest

/// A process a test starts (heapd, or a wrapper that execs heapd in place), always stopped by its pid.
///
/// Its environment is the test's minus every systemd variable (so an outer service manager cannot leak
/// in) plus `environment`. stderr goes to a file in the test's directory, so a chatty child never
/// blocks on a full pipe.
final class ServiceProcess {
    let process = Process()
    let stderrPath: String
    private(set) var stopped = false

    /// The heapd next to the test bundle (where `swift build` puts it), or `$HEAPD_BINARY`.
    static var heapdPath: String {
        if let explicit = ProcessInfo.processInfo.environment["HEAPD_BINARY"] { return explicit }
        let exe =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("heapd").path
    }

    static let systemdVariables = [
        "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
        "JOURNAL_STREAM", "INVOCATION_ID",
    ]

    init(
        executable: String, arguments: [String], environment: [String: String] = [:], directory: String,
        standardError: FileHandle? = nil
    ) throws {
        stderrPath = directory + "/stderr-\(UUID().uuidString.prefix(8)).txt"
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for variable in Self.systemdVariables { env[variable] = nil }
        env["SWIFT_BACKTRACE"] = "enable=no"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        // stdout (unused by heapd; a script's report) goes with stderr.
        let output = try standardError ?? FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        process.standardOutput = output
        process.standardError = output
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    func stderrText() -> String {
        (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
    }

    /// Waits up to `timeout` seconds for `text` to appear in stderr (log lines trail the datagrams).
    func waitForStderr(_ text: String, timeout: Double = 5) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !stderrText().contains(text) {
            if Date() > deadline { return false }
            usleep(20_000)
        }
        return true
    }

    /// Sends `signal` to the process (by pid) if it still runs.
    func send(_ signal: Int32) {
        if process.isRunning { kill(pid, signal) }
    }

    /// Sends `signal`, waits up to `timeout` for the exit (then SIGKILL) and returns the exit status.
    @discardableResult
    func stop(signal: Int32 = SIGTERM, timeout: TimeInterval = 20) -> Int32 {
        if !stopped {
            stopped = true
            send(signal)
        }
        return waitForExit(timeout: timeout)
    }

    /// Waits for the process to exit on its own (SIGKILL after `timeout`); returns the exit status.
    @discardableResult
    func waitForExit(timeout: TimeInterval = 20) -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(pid, SIGKILL)
        }
        process.waitUntilExit()
        stopped = true
        return process.terminationStatus
    }

    deinit {
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// Test helpers: a short temporary directory (sun_path holds 107 bytes) removed after the test, and
/// processes stopped after the test even when it fails.
class SystemdTestCase: XCTestCase {
    private var cleanups: [() -> Void] = []

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
        var template = Array("/tmp/hsd.XXXXXX".utf8CString)
        guard let result = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        let path = String(cString: result)
        onTearDown { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    /// Starts `executable` and registers it to be stopped at tear-down.
    func start(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:],
        directory: String, standardError: FileHandle? = nil
    ) throws -> ServiceProcess {
        let process = try ServiceProcess(
            executable: executable, arguments: arguments, environment: environment, directory: directory,
            standardError: standardError)
        onTearDown { process.stop(signal: SIGKILL, timeout: 5) }
        return process
    }

    /// Starts the heapd under test with `arguments`.
    func startHeapd(
        _ arguments: [String], environment: [String: String] = [:], directory: String
    ) throws -> ServiceProcess {
        try start(ServiceProcess.heapdPath, arguments, environment: environment, directory: directory)
    }

    /// Connects to `path`, retrying until `timeout`; fails the test with the child's stderr otherwise.
    func connect(_ path: String, timeout: Double = 20, process: ServiceProcess? = nil) throws -> HeapConnection {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let connection = try? HeapConnection(socketPath: path, timeout: 10) { return connection }
            if let process, !process.isRunning {
                XCTFail(
                    "the process exited (status \(process.waitForExit())) before \(path) accepted; stderr: \(process.stderrText())"
                )
                throw CocoaError(.fileReadUnknown)
            }
            if Date() > deadline {
                XCTFail("no connection to \(path) within \(timeout)s; stderr: \(process?.stderrText() ?? "")")
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
