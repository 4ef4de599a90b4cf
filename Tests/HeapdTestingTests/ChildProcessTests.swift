import Foundation
import HeapdTesting
import XCTest

/// The kit's own promises: a child's output and status come back, a child is stopped by its pid (by
/// force when it ignores the polite signal), and what the kit creates in /tmp is gone afterwards.
final class ChildProcessTests: XCTestCase {
    func testRunReturnsStatusOutputAndInput() throws {
        let result = try ChildProcess.run(
            "/bin/sh", ["-c", "read line; echo \"got $line\"; echo oops >&2; exit 3"], stdin: Data("hi\n".utf8))
        XCTAssertEqual(result.status, 3)
        XCTAssertFalse(result.signaled)
        XCTAssertEqual(result.stdout, "got hi\n")
        XCTAssertEqual(result.stderr, "oops\n")
    }

    func testRunLeavesNoDirectoryBehind() throws {
        let before = try kitDirectories()
        _ = try ChildProcess.run("/bin/true", [])
        XCTAssertEqual(try kitDirectories(), before)
    }

    func testStopEndsTheChildByItsPid() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let child = try ChildProcess.start("/bin/sleep", ["30"], directory: directory)
        XCTAssertTrue(child.isRunning)
        let result = child.stop()
        XCTAssertTrue(result.signaled)
        XCTAssertEqual(result.status, SIGTERM)
        XCTAssertFalse(child.isRunning)
        XCTAssertEqual(kill(child.pid, 0), -1, "the pid is reaped")
    }

    func testAChildThatIgnoresTheSignalIsKilled() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let child = try ChildProcess.start(
            "/bin/sh", ["-c", "trap '' TERM; echo ready; while :; do :; done"], directory: directory)
        let deadline = Date().addingTimeInterval(10)
        while !child.stdout.contains("ready") && Date() < deadline { usleep(10_000) }
        let result = child.stop(signal: SIGTERM, timeout: 0.3)
        XCTAssertTrue(result.signaled)
        XCTAssertEqual(result.status, SIGKILL)
    }

    func testHeapdIsStoppedAndItsDirectoryRemoved() throws {
        let heapd = try HeapdProcess()
        let directory = heapd.directory
        XCTAssertTrue(FileManager.default.fileExists(atPath: heapd.socketPath))
        try heapd.assertHeapConsistent()
        XCTAssertEqual(heapd.stop(), 0, "SIGTERM is a clean exit")
        XCTAssertFalse(heapd.isRunning)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory))
        XCTAssertTrue(heapd.stderrText().contains("listening"), "stderr is kept after the stop: \(heapd.stderrText())")
    }

    func testAHeapdThatCannotStartThrowsWithItsStderr() throws {
        XCTAssertThrowsError(try HeapdProcess(arguments: ["--no-such-option"])) { error in
            guard case HeapdProcess.HarnessError.exited(let status, let stderr) = error else {
                return XCTFail("\(error)")
            }
            XCTAssertNotEqual(status, 0)
            XCTAssertTrue(stderr.contains("no-such-option"), stderr)
        }
    }

    /// The kit's directories in /tmp now.
    private func kitDirectories() throws -> Set<String> {
        Set(try FileManager.default.contentsOfDirectory(atPath: "/tmp").filter { $0.hasPrefix("hk") })
    }
}

/// The seeded generator: the same seed gives the same numbers on every run and machine.
final class SeededGeneratorTests: XCTestCase {
    func testTheSequenceIsSplitMix64() {
        var generator = SeededGenerator(seed: 0)
        // SplitMix64's published first outputs for seed 0.
        XCTAssertEqual(generator.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(generator.next(), 0x6E78_9E6A_A1B9_65F4)
        var again = SeededGenerator(seed: 0)
        _ = again.next()
        XCTAssertEqual(again.next(), 0x6E78_9E6A_A1B9_65F4)
    }
}
