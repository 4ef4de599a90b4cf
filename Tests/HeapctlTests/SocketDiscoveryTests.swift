import Foundation
import XCTest

/// heapctl without `--socket`: `$HEAPD_SOCKET` alone, else heapd's per-user socket, else the system
/// socket `/run/heapd/heapd.sock`; a failure names every path looked at.
final class SocketDiscoveryTests: HeapctlTestCase {
    private let systemSocket = "/run/heapd/heapd.sock"

    /// A runtime directory whose `heapd.sock` is this test's heapd (a symbolic link to its socket).
    private func runtimeDirectoryWithSocket() throws -> String {
        let runtime = heapd.directory + "/runtime"
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(
            atPath: runtime + "/heapd.sock", withDestinationPath: heapd.socketPath)
        return runtime
    }

    func testThePerUserSocketIsFoundWithoutAnyFlag() throws {
        let runtime = try runtimeDirectoryWithSocket()
        let result = try runHeapctl(["PING"], environment: ["XDG_RUNTIME_DIR": runtime])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "PONG\n")
    }

    func testHeapdSocketIsTheOnlyPathTried() throws {
        let runtime = try runtimeDirectoryWithSocket()
        let missing = heapd.directory + "/missing.sock"
        let result = try runHeapctl(["PING"], environment: ["XDG_RUNTIME_DIR": runtime, "HEAPD_SOCKET": missing])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("could not connect to heapd at \(missing)"), result.stderr)
        XCTAssertFalse(result.stderr.contains("also looked"), result.stderr)
    }

    func testWithNoSocketAnywhereEveryPathLookedAtIsNamed() throws {
        try XCTSkipIf(
            FileManager.default.fileExists(atPath: systemSocket), "a heapd service listens on \(systemSocket)")
        let runtime = heapd.directory + "/empty-runtime"
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: false)
        let result = try runHeapctl(["PING"], environment: ["XDG_RUNTIME_DIR": runtime])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("could not connect to heapd at \(runtime)/heapd.sock"), result.stderr)
        XCTAssertTrue(result.stderr.contains("also looked for a socket at \(systemSocket): none there"), result.stderr)
    }

    func testAnExplicitSocketWinsOverTheEnvironment() throws {
        let result = try runHeapctl(
            ["--socket", heapd.socketPath, "PING"], environment: ["HEAPD_SOCKET": heapd.directory + "/missing.sock"])
        XCTAssertEqual(result.stdout, "PONG\n", result.stderr)
    }
}
