import Foundation
import HeapClient
import HeapProtocol
import HeapServer
import HeapSystemd
import HeapdTesting
import XCTest

/// heapd's journald handler against a real `systemd-journald` (a namespace instance the test starts):
/// entries read back with `journalctl -o json` carry the fields and MESSAGE_IDs heapd promises.
/// Skipped, with the reason, where journald or a mount namespace cannot be had.
final class JournaldIntegrationTests: SystemdTestCase {
    func testStructuredEntriesWithMessageIDsReachJournald() throws {
        let directory = try makeDirectory()
        let journal = try JournaldNamespace(test: self, directory: directory)
        let socketPath = directory + "/h.sock"
        let command = journal.wrapped([
            BuildProducts.heapd, "--socket", socketPath, "--log-target", "journal", "--log-level", "debug",
            "--max-objects", "16",
        ])
        let heapd = try start(command.executable, command.arguments, directory: directory)
        let client = try connect(socketPath, process: heapd)
        _ = try client.call("NEW", "a", "list")
        _ = try client.call("GC", "COLLECT")
        var reply = Reply.simple("OK")
        for index in 0..<40 {
            reply = try client.call("NEW", "x\(index)", "list")
            if case .error = reply { break }
        }
        guard case .error("LIMIT", _) = reply else { return XCTFail("no object limit hit: \(reply)") }
        client.close()
        XCTAssertEqual(heapd.stop().status, 0, heapd.stderr)
        XCTAssertFalse(
            heapd.stderr.contains("heapd listening"), "with --log-target journal no log text goes to stderr")

        let ids = JournalMessageID.byEvent
        let entries = journal.waitForEntries(["_PID=\(heapd.pid)"]) { found in
            found.contains { $0["MESSAGE_ID"] as? String == ids["daemon_stopped"] }
        }
        func entry(_ event: String) -> [String: Any]? {
            entries.first { $0["MESSAGE_ID"] as? String == ids[event] }
        }
        for event in [
            "daemon_started", "client_connected", "client_gone", "collection_finished", "limit_hit", "daemon_stopped",
        ] {
            let found = try XCTUnwrap(
                entry(event), "no \(event) entry among \(entries.count): \(entries.map { $0["MESSAGE"] ?? "" })")
            XCTAssertEqual(found["HEAPD_EVENT"] as? String, event)
            XCTAssertEqual(found["SYSLOG_IDENTIFIER"] as? String, "heapd")
            XCTAssertNotNil(found["CODE_FILE"] as? String)
            XCTAssertNotNil((found["CODE_LINE"] as? String).flatMap(Int.init), "\(found)")
            XCTAssertFalse((found["CODE_FUNC"] as? String ?? "").isEmpty)
        }
        let started = try XCTUnwrap(entry("daemon_started"))
        XCTAssertEqual(started["PRIORITY"] as? String, "6")
        XCTAssertEqual(started["MESSAGE"] as? String, "heapd listening")
        XCTAssertTrue((started["CODE_FILE"] as? String ?? "").hasSuffix("HeapServer.swift"), "\(started)")
        let connected = try XCTUnwrap(entry("client_connected"))
        XCTAssertEqual(connected["PRIORITY"] as? String, "7")
        XCTAssertEqual(connected["HEAPD_CLIENT_PID"] as? String, "\(getpid())")
        XCTAssertEqual(connected["HEAPD_CLIENT_UID"] as? String, "\(getuid())")
        let collection = try XCTUnwrap(entry("collection_finished"))
        XCTAssertEqual(collection["HEAPD_GC_GENERATION"] as? String, "2")
        XCTAssertEqual(collection["HEAPD_GC_COLLECTED"] as? String, "0")
        XCTAssertEqual(collection["HEAPD_GC_UNCOLLECTABLE"] as? String, "0")
        XCTAssertNotNil((collection["HEAPD_GC_PAUSE_USEC"] as? String).flatMap(Int.init))
        let limit = try XCTUnwrap(entry("limit_hit"))
        XCTAssertEqual(limit["PRIORITY"] as? String, "4")
        XCTAssertTrue((limit["HEAPD_LIMIT"] as? String ?? "").contains("object limit"), "\(limit)")
        // journald drops invalid field names silently, so check the ones heapd sent are all valid.
        for found in entries {
            for key in found.keys where !key.hasPrefix("_") {
                XCTAssertTrue(JournalFieldName.isValid(key), "invalid journal field \(key)")
            }
        }
    }

    /// `--log-target auto` picks the journal when `JOURNAL_STREAM` names heapd's stderr (as systemd sets
    /// it), and text on stderr when it names something else.
    func testAutoTargetFollowsJournalStream() throws {
        let directory = try makeDirectory()
        let journal = try JournaldNamespace(test: self, directory: directory)
        let stderrPath = directory + "/stderr-auto.txt"
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        let stderrHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        defer { try? stderrHandle.close() }
        var info = stat()
        XCTAssertEqual(fstat(stderrHandle.fileDescriptor, &info), 0)
        let matching = "\(info.st_dev):\(info.st_ino)"

        let command = journal.wrapped([BuildProducts.heapd, "--socket", directory + "/j.sock"])
        let toJournal = try start(
            command.executable, command.arguments, environment: ["JOURNAL_STREAM": matching],
            directory: directory, outputPath: stderrPath)
        try connect(directory + "/j.sock", process: toJournal).close()
        let journalExit = toJournal.stop()
        XCTAssertEqual(
            journalExit.status, 0,
            "\(journalExit.stderr)\n\((try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "")")
        let entries = journal.waitForEntries(["_PID=\(toJournal.pid)"]) { $0.count >= 3 }
        XCTAssertTrue(entries.contains { $0["HEAPD_EVENT"] as? String == "daemon_started" }, "\(entries)")
        XCTAssertFalse(
            try String(contentsOfFile: stderrPath, encoding: .utf8).contains("heapd listening"),
            "journal mode writes no text")

        let other = journal.wrapped([BuildProducts.heapd, "--socket", directory + "/s.sock"])
        let toStderr = try start(
            other.executable, other.arguments, environment: ["JOURNAL_STREAM": "1:1"], directory: directory)
        try connect(directory + "/s.sock", process: toStderr).close()
        let stderrExit = toStderr.stop()
        XCTAssertEqual(stderrExit.status, 0, stderrExit.stderr)
        XCTAssertTrue(toStderr.stderr.contains("heapd listening"), toStderr.stderr)
        XCTAssertTrue(journal.entries(["_PID=\(toStderr.pid)"]).isEmpty)
    }
}
