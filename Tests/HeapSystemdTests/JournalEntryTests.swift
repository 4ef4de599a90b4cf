import HeapServer
import HeapSystemd
import Logging
import XCTest

final class JournalEntryTests: XCTestCase {
    func testFieldsOfACollectionEntry() {
        let entry = JournalEntry(
            level: .debug, message: "collection finished",
            metadata: [
                "event": "collection_finished", "gc_generation": "2", "gc_collected": "10", "gc_uncollectable": "0",
                "gc_pause_usec": "85",
            ], label: "heapd", file: "HeapServer/ServerState.swift", function: "deliver(_:logger:)", line: 77)
        XCTAssertEqual(entry["MESSAGE"], "collection finished")
        XCTAssertEqual(entry["PRIORITY"], "7")
        XCTAssertEqual(entry["SYSLOG_IDENTIFIER"], "heapd")
        XCTAssertEqual(entry["CODE_FILE"], "HeapServer/ServerState.swift")
        XCTAssertEqual(entry["CODE_LINE"], "77")
        XCTAssertEqual(entry["CODE_FUNC"], "deliver(_:logger:)")
        XCTAssertEqual(entry["MESSAGE_ID"], JournalMessageID.byEvent["collection_finished"])
        XCTAssertEqual(entry["HEAPD_GC_GENERATION"], "2")
        XCTAssertEqual(entry["HEAPD_GC_COLLECTED"], "10")
        XCTAssertEqual(entry["HEAPD_GC_UNCOLLECTABLE"], "0")
        XCTAssertEqual(entry["HEAPD_GC_PAUSE_USEC"], "85")
        XCTAssertEqual(entry["HEAPD_EVENT"], "collection_finished")
        XCTAssertNil(entry["HEAPD_LOGGER"], "the main logger's label is the identifier already")
    }

    func testPriorities() {
        let expected: [Logger.Level: Int] = [
            .trace: 7, .debug: 7, .info: 6, .notice: 5, .warning: 4, .error: 3, .critical: 2,
        ]
        for (level, priority) in expected { XCTAssertEqual(JournalEntry.priority(level), priority, "\(level)") }
    }

    func testNoMessageIDWithoutAKnownEventAndEveryFieldNameValid() {
        let entry = JournalEntry(
            level: .info, message: "multi\nline", metadata: ["event": "made_up", "_weird key": "v", "n": "\(3)"],
            label: "other", file: "f", function: "g", line: 1)
        XCTAssertNil(entry["MESSAGE_ID"])
        XCTAssertEqual(entry["MESSAGE"], "multi\nline")
        XCTAssertEqual(entry["HEAPD_LOGGER"], "other")
        XCTAssertEqual(entry["HEAPD__WEIRD_KEY"], "v")
        for field in entry.fields {
            let name = String(field.prefix { $0 != "=" })
            XCTAssertTrue(JournalFieldName.isValid(name), name)
        }
    }

    func testEveryEventKindHasADistinctMessageID() {
        let events = ServerLogEvent.allCases.map(\.rawValue) + ServiceLogEvent.allCases.map(\.rawValue)
        XCTAssertEqual(Set(events), Set(JournalMessageID.byEvent.keys))
        let ids = Array(JournalMessageID.byEvent.values)
        XCTAssertEqual(Set(ids).count, ids.count)
        for id in ids {
            XCTAssertEqual(id.count, 32)
            XCTAssertTrue(id.allSatisfy { $0.isHexDigit && !$0.isUppercase }, id)
        }
    }
}
