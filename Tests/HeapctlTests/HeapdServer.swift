import Foundation
import HeapClient
import XCTest

/// The real heapd binary on a socket in a temporary directory, for one test; always stopped by its pid
/// and the directory removed, even when the test fails.
final class HeapdServer {
    let process = Process()
    /// The temporary directory holding the socket; tests put their scripts and output files here too.
    let directory: String
    let socketPath: String
    private var stopped = false

    init() throws {
        directory = try ChildProcess.makeTemporaryDirectory()
        socketPath = directory + "/h.sock"
        let binary = ChildProcess.binary("heapd")
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw HarnessError.missingBinary(binary)
        }
        process.executableURL = URL(fileURLWithPath: binary)
        // No command time limit: a debug build runs the examples' million-item loops 10-20× slower than a
        // release build does (HeapServerTests test the limit itself).
        process.arguments = ["--socket", socketPath, "--log-level", "warning", "--command-time-limit", "0"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
            try waitUntilConnectable()
        } catch {
            stop()
            throw error
        }
    }

    private func waitUntilConnectable(timeout: TimeInterval = 20) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard process.isRunning else {
                throw HarnessError.exited(process.terminationStatus)
            }
            if let connection = try? HeapConnection(socketPath: socketPath, timeout: 5) {
                connection.close()
                return
            }
            usleep(20_000)
        }
        throw HarnessError.notReady
    }

    /// SIGTERM, then SIGKILL if heapd has not exited within a few seconds; removes the directory.
    func stop() {
        guard !stopped else {
            return
        }
        stopped = true
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning && Date() < deadline {
                usleep(10_000)
            }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit {
        stop()
    }

    enum HarnessError: Error {
        case missingBinary(String)
        case exited(Int32)
        case notReady
    }
}

/// A test with its own heapd, checked with `DEBUG VERIFY` after the test (heapctl must leave the heap
/// consistent) and stopped.
class HeapctlTestCase: XCTestCase {
    var heapd: HeapdServer!

    /// The heapctl binary under test.
    let heapctlPath = ChildProcess.binary("heapctl")

    override func setUpWithError() throws {
        heapd = try HeapdServer()
    }

    override func tearDownWithError() throws {
        defer {
            heapd.stop()
            heapd = nil
        }
        guard heapd.process.isRunning else {
            XCTFail("heapd died during the test")
            return
        }
        let client = try HeapConnection(socketPath: heapd.socketPath, timeout: 30)
        defer { client.close() }
        let verdict = try client.call("DEBUG", "VERIFY")
        guard case .simple(let text) = verdict, text.hasPrefix("OK") else {
            XCTFail("heap inconsistent after the test: \(verdict)")
            return
        }
    }

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
