import Foundation
import HeapSystemd
import XCTest

final class LogTargetTests: XCTestCase {
    let stderr = FileIdentity(device: 24, inode: 7001)

    func testAutoIsTheJournalOnlyWhenJournalStreamNamesStderr() {
        XCTAssertEqual(LogTarget.auto.resolved(journalStream: "24:7001", standardError: stderr), .journal)
        XCTAssertEqual(LogTarget.auto.resolved(journalStream: "24:7002", standardError: stderr), .stderr)
        XCTAssertEqual(LogTarget.auto.resolved(journalStream: nil, standardError: stderr), .stderr)
        XCTAssertEqual(LogTarget.auto.resolved(journalStream: "garbage", standardError: stderr), .stderr)
        XCTAssertEqual(LogTarget.auto.resolved(journalStream: "24:7001", standardError: nil), .stderr)
    }

    func testExplicitTargetsWin() {
        XCTAssertEqual(LogTarget.journal.resolved(journalStream: nil, standardError: nil), .journal)
        XCTAssertEqual(LogTarget.stderr.resolved(journalStream: "24:7001", standardError: stderr), .stderr)
    }

    func testJournalStreamParsing() {
        XCTAssertEqual(FileIdentity(journalStream: "8:12345"), FileIdentity(device: 8, inode: 12345))
        XCTAssertNil(FileIdentity(journalStream: "8:"))
        XCTAssertNil(FileIdentity(journalStream: "8:1:2"))
        XCTAssertNil(FileIdentity(journalStream: "-1:2"))
    }

    func testFstatOfAPipeMatchesWhatSystemdWouldWrite() throws {
        let pipe = Pipe()
        var info = stat()
        XCTAssertEqual(fstat(pipe.fileHandleForWriting.fileDescriptor, &info), 0)
        let identity = try XCTUnwrap(FileIdentity.of(descriptor: pipe.fileHandleForWriting.fileDescriptor))
        XCTAssertEqual(FileIdentity(journalStream: "\(info.st_dev):\(info.st_ino)"), identity)
        XCTAssertNil(FileIdentity.of(descriptor: -1))
    }
}
