import Foundation
import HeapClient
import HeapProtocol
import HeapdTesting
import XCTest

/// The files `TRACEMALLOC DUMP` writes and `LOAD` reads, against the real heapd: private files in a
/// private directory whatever the umask, and nothing but a regular file inside the directory is read.
final class SnapshotFileIntegrationTests: XCTestCase {
    var scratch: String!
    var heapd: HeapdProcess!
    var snapshots: String { scratch + "/state/snapshots" }

    override func setUpWithError() throws {
        scratch = try makeTemporaryDirectory()
        // Started under umask 000, with a snapshot directory neither it nor its parent exist yet.
        heapd = try withUmask(0) { try HeapdProcess(arguments: ["--snapshot-dir", snapshots]) }
    }

    override func tearDown() {
        heapd?.stop()
        heapd = nil
        try? FileManager.default.removeItem(atPath: scratch)
    }

    /// Traces one allocation, takes a snapshot and dumps it as `name`; returns the reply's path.
    func dump(_ client: HeapConnection, as name: String) throws -> String? {
        _ = try client.pipeline([["TRACEMALLOC", "START"], ["NEW", "x", "list"]])
        guard case .integer(let number) = try client.call("TRACEMALLOC", "TAKE_SNAPSHOT") else { return nil }
        return bulkText(try client.call("TRACEMALLOC", "DUMP", "\(number)", name))
    }

    func testDumpsAre0600InA0700DirectoryWhateverTheUmask() throws {
        let client = try heapd.connect()
        defer { client.close() }
        XCTAssertEqual(try dump(client, as: "snap.json"), snapshots + "/snap.json")
        let directory = try fileStatus(snapshots)
        XCTAssertEqual(directory.st_mode & S_IFMT, S_IFDIR)
        XCTAssertEqual(directory.st_mode & 0o7777, 0o700, "created by heapd")
        let file = try fileStatus(snapshots + "/snap.json")
        XCTAssertEqual(file.st_mode & S_IFMT, S_IFREG)
        XCTAssertEqual(file.st_mode & 0o7777, 0o600)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: snapshots), ["snap.json"], "no temporaries")

        // A symbolic link planted at the name is replaced, never written through.
        let victim = scratch + "/victim"
        try "untouched".write(toFile: victim, atomically: false, encoding: .utf8)
        XCTAssertEqual(symlink(victim, snapshots + "/planted.json"), 0)
        XCTAssertEqual(try dump(client, as: "planted.json"), snapshots + "/planted.json")
        XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "untouched")
        let replaced = try fileStatus(snapshots + "/planted.json")
        XCTAssertEqual(replaced.st_mode & S_IFMT, S_IFREG)
        XCTAssertEqual(replaced.st_mode & 0o7777, 0o600)
    }

    func testLoadReadsOnlyRegularFilesInTheDirectory() throws {
        let client = try heapd.connect()
        defer { client.close() }
        XCTAssertNotNil(try dump(client, as: "good.json"))
        guard case .integer = try client.call("TRACEMALLOC", "LOAD", "good.json") else { return XCTFail("LOAD") }

        // A symbolic link to a valid snapshot outside the directory: refused, not followed.
        let outside = scratch + "/outside.json"
        try FileManager.default.copyItem(atPath: snapshots + "/good.json", toPath: outside)
        XCTAssertEqual(symlink(outside, snapshots + "/link.json"), 0)
        XCTAssertEqual(symlink("/dev/zero", snapshots + "/zero.json"), 0)
        for name in ["link.json", "zero.json"] {
            let reply = try client.call("TRACEMALLOC", "LOAD", name)
            XCTAssertErrorCode(reply, "IO")
            XCTAssertTrue("\(reply)".contains("symbolic link"), "\(reply)")
        }

        // A FIFO: refused at once (opening it for reading must not wait for a writer).
        XCTAssertEqual(mkfifo(snapshots + "/fifo.json", 0o600), 0)
        let started = Date()
        let fifo = try client.call("TRACEMALLOC", "LOAD", "fifo.json")
        XCTAssertErrorCode(fifo, "IO")
        XCTAssertTrue("\(fifo)".contains("a FIFO, not a regular file"), "\(fifo)")
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)

        // A device node (root may make one), a directory, a hard link.
        // 0x103 is makedev(1, 3), /dev/null (the macro is not visible from Swift).
        if mknod(snapshots + "/null.json", S_IFCHR | 0o600, 0x103) == 0 {
            let device = try client.call("TRACEMALLOC", "LOAD", "null.json")
            XCTAssertErrorCode(device, "IO")
            XCTAssertTrue("\(device)".contains("a character device") || "\(device)".contains("ermission"), "\(device)")
        }
        XCTAssertEqual(mkdir(snapshots + "/dir.json", 0o700), 0)
        XCTAssertTrue("\(try client.call("TRACEMALLOC", "LOAD", "dir.json"))".contains("a directory"))
        XCTAssertEqual(link(outside, snapshots + "/hard.json"), 0)
        let hard = try client.call("TRACEMALLOC", "LOAD", "hard.json")
        XCTAssertErrorCode(hard, "IO")
        XCTAssertTrue("\(hard)".contains("hard links"), "\(hard)")
        XCTAssertErrorCode(try client.call("TRACEMALLOC", "LOAD", "missing.json"), "IO")
        XCTAssertErrorCode(try client.call("TRACEMALLOC", "LOAD", "../outside.json"), "SYNTAX")
        guard case .integer = try client.call("TRACEMALLOC", "LOAD", "good.json") else { return XCTFail("still loads") }
        XCTAssertTrue(heapd.isRunning)
    }
}
