import Foundation
import HeapClient
import HeapProtocol
import XCTest

/// The real heapd binary, started on a temporary socket for one test and always stopped by its pid.
///
/// The binary is the one `swift build` put next to the test bundle (or `$HEAPD_BINARY`). The socket
/// lives in a short temporary directory (sun_path holds 107 bytes), removed at ``stop()``.
final class HeapdProcess {
    let process = Process()
    let directory: String
    let socketPath: String
    let stderrPipe = Pipe()
    private(set) var stopped = false

    static var binaryPath: String {
        if let explicit = ProcessInfo.processInfo.environment["HEAPD_BINARY"] { return explicit }
        let exe =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("heapd").path
    }

    /// Starts heapd with `arguments` (after `--socket`) and waits until its socket accepts.
    ///
    /// `shellPrefix` runs first in `/bin/sh`, which then `exec`s heapd (so the pid is still heapd's):
    /// `ulimit -v 6000000` starts heapd under a resource limit. A `descriptorLimit` is the same with
    /// `ulimit -n` of it.
    init(
        arguments: [String] = [], environment: [String: String] = [:], socketPath: String? = nil,
        shellPrefix: String? = nil, descriptorLimit: Int? = nil
    ) throws {
        directory = try Self.makeDirectory()
        self.socketPath = socketPath ?? directory + "/h.sock"
        // Snapshot dumps stay in the test's directory, removed with it.
        let snapshots = arguments.contains("--snapshot-dir") ? [] : ["--snapshot-dir", directory]
        let heapdArguments = ["--socket", self.socketPath] + snapshots + arguments
        if let shellPrefix = shellPrefix ?? descriptorLimit.map({ "ulimit -n \($0)" }) {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "\(shellPrefix) && exec \"$0\" \"$@\"", Self.binaryPath] + heapdArguments
        } else {
            process.executableURL = URL(fileURLWithPath: Self.binaryPath)
            process.arguments = heapdArguments
        }
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardError = stderrPipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        try waitUntilConnectable()
    }

    static func makeDirectory() throws -> String {
        var template = Array("/tmp/hd.XXXXXX".utf8CString)
        guard let result = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        return String(cString: result)
    }

    func waitUntilConnectable(timeout: TimeInterval = 20) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if !process.isRunning { throw HarnessError.exited(status: process.terminationStatus, stderr: stderrText()) }
            if let connection = try? HeapConnection(socketPath: socketPath, timeout: 5) {
                connection.close()
                return
            }
            usleep(20_000)
        }
        throw HarnessError.notReady
    }

    func connect(timeout: Double = 30) throws -> HeapConnection {
        try HeapConnection(socketPath: socketPath, timeout: timeout)
    }

    func stderrText() -> String {
        String(decoding: stderrPipe.fileHandleForReading.availableDataNonBlocking(), as: UTF8.self)
    }

    /// Sends `signal`, waits for the exit and returns the exit status.
    @discardableResult
    func stop(signal: Int32 = SIGTERM, timeout: TimeInterval = 20) -> Int32 {
        guard !stopped else { return process.terminationStatus }
        stopped = true
        if process.isRunning { kill(process.processIdentifier, signal) }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
        return process.terminationStatus
    }

    deinit {
        stop(signal: SIGKILL)
    }

    enum HarnessError: Error {
        case exited(status: Int32, stderr: String)
        case notReady
    }
}

extension FileHandle {
    /// What the pipe holds now, without blocking.
    func availableDataNonBlocking() -> Data {
        let fd = fileDescriptor
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = Glibc.read(fd, &buffer, buffer.count)
            if count <= 0 { break }
            data.append(contentsOf: buffer[0..<count])
        }
        return data
    }
}

/// Whether this test process (and so the heapd built beside it) runs under the address or thread
/// sanitizer: their shadow memory cannot start under `ulimit -v`, and they multiply RSS, so tests of
/// address-space limits or of memory figures skip themselves there.
let runningUnderSanitizer: Bool = {
    let handle = dlopen(nil, RTLD_NOW)
    return dlsym(handle, "__asan_init") != nil || dlsym(handle, "__tsan_init") != nil
}()

/// A test case with a running heapd, checked with `DEBUG VERIFY` and stopped after every test.
class HeapdTestCase: XCTestCase {
    var heapd: HeapdProcess!
    var extraArguments: [String] { [] }

    override func setUpWithError() throws {
        heapd = try HeapdProcess(arguments: extraArguments)
    }

    override func tearDownWithError() throws {
        // setUp may have thrown before heapd existed.
        guard let heapd else { return }
        defer {
            heapd.stop()
            self.heapd = nil
        }
        guard heapd.process.isRunning else {
            XCTFail("heapd died during the test: \(heapd.stderrText())")
            return
        }
        let client = try heapd.connect()
        defer { client.close() }
        let verdict = try client.call("DEBUG", "VERIFY")
        guard case .simple(let text) = verdict, text.hasPrefix("OK") else {
            XCTFail("heap inconsistent after test: \(verdict)")
            return
        }
    }

    /// Reads `INFO` into a dictionary of its `key:value` lines.
    func info(_ client: HeapConnection, _ section: String = "all") throws -> [String: String] {
        guard case .bulk(let bytes) = try client.call("INFO", section) else { return [:] }
        var result: [String: String] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { result[String(parts[0])] = String(parts[1]) }
        }
        return result
    }
}

func XCTAssertErrorCode(_ reply: Reply, _ code: String, file: StaticString = #filePath, line: UInt = #line) {
    guard case .error(let actual, _) = reply else {
        XCTFail("expected error \(code), got \(reply)", file: file, line: line)
        return
    }
    XCTAssertEqual(actual, code, file: file, line: line)
}

func bulkText(_ reply: Reply) -> String? {
    if case .bulk(let bytes) = reply { return String(decoding: bytes, as: UTF8.self) }
    return nil
}
