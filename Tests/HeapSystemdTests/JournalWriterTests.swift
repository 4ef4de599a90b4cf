import Foundation
import HeapCore
import HeapSystemd
import Logging
import XCTest

final class JournalWriterTests: XCTestCase {
    /// A journald stand-in that records entries and can be made to block (a journald that fell behind).
    final class Recorder: @unchecked Sendable {
        let entries = LockedValue<[JournalEntry]>([])
        let gate = NSCondition()
        var open = true

        func send(_ entry: JournalEntry) {
            gate.lock()
            while !open { gate.wait() }
            gate.unlock()
            entries.withLock { $0.append(entry) }
        }

        func setOpen(_ value: Bool) {
            gate.lock()
            open = value
            gate.broadcast()
            gate.unlock()
        }
    }

    func entry(_ message: String) -> JournalEntry {
        JournalEntry(level: .info, message: message, metadata: [:], label: "heapd", file: "f", function: "g", line: 1)
    }

    func testEntriesArriveInOrder() {
        let recorder = Recorder()
        let writer = JournalWriter(capacity: 100) { recorder.send($0) }
        writer.start()
        for index in 0..<50 { XCTAssertTrue(writer.enqueue(entry("m\(index)"))) }
        XCTAssertTrue(writer.flush(timeout: 5))
        writer.stop()
        XCTAssertEqual(recorder.entries.withLock { $0.map { $0["MESSAGE"]! } }, (0..<50).map { "m\($0)" })
        XCTAssertEqual(writer.droppedCount, 0)
    }

    func testAFullQueueDropsAndCountsWithoutBlockingThenReportsTheLoss() {
        let recorder = Recorder()
        recorder.setOpen(false)
        let writer = JournalWriter(capacity: 10) { recorder.send($0) }
        writer.start()
        let started = Date()
        var accepted = 0
        for index in 0..<1000 where writer.enqueue(entry("m\(index)")) { accepted += 1 }
        XCTAssertLessThan(Date().timeIntervalSince(started), 1, "enqueue must not wait for journald")
        // The writer may hold one batch (taken before journald blocked) besides the queue.
        XCTAssertLessThanOrEqual(accepted, 20)
        XCTAssertEqual(writer.droppedCount, 1000 - accepted)
        recorder.setOpen(true)
        XCTAssertTrue(writer.flush(timeout: 5))
        writer.stop()
        // The loss is reported once the writer gets going again (in one or more entries, depending on
        // where journald blocked it), and every dropped entry is accounted for.
        let reports = recorder.entries.withLock { $0 }.filter { $0["HEAPD_EVENT"] == "log_entries_dropped" }
        XCTAssertFalse(reports.isEmpty)
        XCTAssertEqual(reports.compactMap { $0["HEAPD_DROPPED"].flatMap(Int.init) }.reduce(0, +), 1000 - accepted)
        XCTAssertEqual(reports.first?["MESSAGE_ID"], JournalMessageID.byEvent["log_entries_dropped"])
        XCTAssertEqual(reports.first?["PRIORITY"], "4")
    }

    func testTheHandlerFollowsTheSharedLevelAndMergesMetadata() {
        let recorder = Recorder()
        let writer = JournalWriter { recorder.send($0) }
        writer.start()
        let setting = LogLevelSetting(.info)
        var handler = JournalLogHandler(label: "heapd", writer: writer, setting: setting)
        handler.metadata = ["session": "7"]
        let configured = handler
        var logger = Logger(label: "heapd", factory: { _ in configured })
        logger.debug("hidden")
        logger.info("shown", metadata: ["client_pid": "12"])
        setting.level = .debug
        logger.debug("now shown")
        logger.logLevel = .error
        logger.warning("hidden by this logger's own level")
        XCTAssertTrue(writer.flush(timeout: 5))
        writer.stop()
        let entries = recorder.entries.withLock { $0 }
        XCTAssertEqual(entries.map { $0["MESSAGE"]! }, ["shown", "now shown"])
        XCTAssertEqual(entries[0]["HEAPD_CLIENT_PID"], "12")
        XCTAssertEqual(entries[0]["HEAPD_SESSION"], "7")
        XCTAssertTrue(entries[0]["CODE_FILE"]!.hasSuffix("JournalWriterTests.swift"))
        XCTAssertEqual(entries[0]["CODE_FUNC"], "testTheHandlerFollowsTheSharedLevelAndMergesMetadata()")
    }
}
