import Foundation
import HeapClient
import HeapProtocol
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// The real heapd binary, started on a socket in a temporary directory for one test, always stopped by
/// its pid and the directory removed, also when the test fails.
///
/// The binary is the one `swift build` put next to the test bundle (or `$HEAPD_BINARY`). The socket
/// lives in a short temporary directory (sun_path holds 107 bytes); snapshot dumps and the files a test
/// writes for its children go there too. heapd's stderr goes to a file in it (a pipe nobody reads would
/// stall a chatty heapd).
public final class HeapdProcess {
    public let child: RunningChild
    /// The temporary directory holding the socket; tests put their scripts and output files here too.
    public let directory: String
    public let socketPath: String
    private var stopped = false
    private var finalStderr: String?

    public enum HarnessError: Error {
        case missingBinary(String)
        case exited(status: Int32, stderr: String)
        case notReady(stderr: String)
    }

    /// Starts heapd with `arguments` (after `--socket`) and waits until its socket accepts.
    ///
    /// `shellPrefix` runs first in `/bin/sh`, which then `exec`s heapd (so the pid is still heapd's):
    /// `ulimit -v 6000000` starts heapd under a resource limit. A `descriptorLimit` is the same with
    /// `ulimit -n` of it. `environment` is added to the test's own.
    public init(
        arguments: [String] = [], environment: [String: String] = [:], socketPath: String? = nil,
        shellPrefix: String? = nil, descriptorLimit: Int? = nil
    ) throws {
        let binary = BuildProducts.heapd
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw HarnessError.missingBinary(binary)
        }
        directory = try makeTemporaryDirectory()
        self.socketPath = socketPath ?? directory + "/h.sock"
        // Snapshot dumps stay in the test's directory, removed with it.
        let snapshots = arguments.contains("--snapshot-dir") ? [] : ["--snapshot-dir", directory]
        let heapdArguments = ["--socket", self.socketPath] + snapshots + arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment {
            env[key] = value
        }
        do {
            if let shellPrefix = shellPrefix ?? descriptorLimit.map({ "ulimit -n \($0)" }) {
                child = try ChildProcess.start(
                    "/bin/sh", ["-c", "\(shellPrefix) && exec \"$0\" \"$@\"", binary] + heapdArguments,
                    environment: env, directory: directory, stdoutPath: "/dev/null",
                    stderrPath: directory + "/heapd.err")
            } else {
                child = try ChildProcess.start(
                    binary, heapdArguments, environment: env, directory: directory, stdoutPath: "/dev/null",
                    stderrPath: directory + "/heapd.err")
            }
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        do {
            try waitUntilConnectable()
        } catch {
            stop(signal: SIGKILL)
            throw error
        }
    }

    /// heapd's pid.
    public var pid: pid_t { child.pid }

    /// Whether heapd still runs.
    public var isRunning: Bool { child.isRunning }

    private func waitUntilConnectable(timeout: TimeInterval = 20) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard isRunning else {
                throw HarnessError.exited(status: child.stop().status, stderr: stderrText())
            }
            if let connection = try? HeapConnection(socketPath: socketPath, timeout: 5) {
                connection.close()
                return
            }
            usleep(20_000)
        }
        throw HarnessError.notReady(stderr: stderrText())
    }

    /// A new client connection to this heapd.
    public func connect(timeout: Double = 30) throws -> HeapConnection {
        try HeapConnection(socketPath: socketPath, timeout: timeout)
    }

    /// What heapd has written to stderr so far (after ``stop(signal:timeout:)``, all of it).
    public func stderrText() -> String {
        finalStderr ?? child.stderr
    }

    /// Sends `signal`, waits for the exit (SIGKILL after `timeout`), removes the directory and returns
    /// the exit status (the signal number if a signal ended heapd). Stopping twice only returns it again.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, timeout: TimeInterval = 20) -> Int32 {
        let result = child.stop(signal: signal, timeout: timeout)
        if !stopped {
            stopped = true
            finalStderr = result.stderr
            try? FileManager.default.removeItem(atPath: directory)
        }
        return result.status
    }

    /// Fails the test unless heapd still runs and `DEBUG VERIFY` finds its heap consistent.
    public func assertHeapConsistent(file: StaticString = #filePath, line: UInt = #line) throws {
        guard isRunning else {
            XCTFail("heapd died during the test: \(stderrText())", file: file, line: line)
            return
        }
        let client = try connect()
        defer { client.close() }
        let verdict = try client.call("DEBUG", "VERIFY")
        guard case .simple(let text) = verdict, text.hasPrefix("OK") else {
            XCTFail("heap inconsistent after the test: \(verdict)", file: file, line: line)
            return
        }
    }

    /// The shared tear-down: checks the heap (``assertHeapConsistent(file:line:)``), then stops heapd
    /// and removes its directory whatever the check found.
    public func verifyAndStop(file: StaticString = #filePath, line: UInt = #line) throws {
        defer { stop() }
        try assertHeapConsistent(file: file, line: line)
    }

    deinit {
        stop(signal: SIGKILL)
    }
}
