import Foundation
import HeapSystemd
import XCTest

/// systemd/heapd.catalog and ``JournalMessageID`` list the same MESSAGE_IDs, each catalog entry has a
/// subject, and every @FIELD@ it mentions is one heapd sends.
final class MessageCatalogTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    struct Entry {
        let id: String
        var lines: [String] = []
    }

    func catalog() throws -> [Entry] {
        let text = try String(contentsOf: Self.root.appendingPathComponent("systemd/heapd.catalog"), encoding: .utf8)
        var entries: [Entry] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("-- ") {
                entries.append(Entry(id: String(line.dropFirst(3))))
            } else if !entries.isEmpty {
                entries[entries.count - 1].lines.append(String(line))
            }
        }
        return entries
    }

    func testTheCatalogListsExactlyTheMessageIDsHeapdSends() throws {
        let entries = try catalog()
        XCTAssertEqual(entries.map(\.id).sorted(), JournalMessageID.byEvent.values.sorted())
        for entry in entries {
            XCTAssertTrue(entry.lines.first?.hasPrefix("Subject: ") == true, entry.id)
            XCTAssertTrue(entry.lines.contains("Defined-By: heapd"), entry.id)
            XCTAssertGreaterThan(entry.lines.filter { !$0.isEmpty }.count, 3, "\(entry.id) needs an explanation")
        }
    }

    func testEveryFieldTheCatalogMentionsIsAHeapdField() throws {
        let known: Set<String> = [
            "HEAPD_LISTEN", "HEAPD_PID", "HEAPD_WORKERS", "HEAPD_OBJECTS_LEFT", "HEAPD_CLIENT_ID", "HEAPD_CLIENT_PID",
            "HEAPD_CLIENT_UID", "HEAPD_COMMANDS", "HEAPD_GC_GENERATION", "HEAPD_GC_COLLECTED", "HEAPD_GC_UNCOLLECTABLE",
            "HEAPD_GC_PAUSE_USEC", "HEAPD_LIMIT", "HEAPD_REASON", "HEAPD_LOG_LEVEL", "HEAPD_ERRNO", "HEAPD_DROPPED",
            "HEAPD_COMMAND", "HEAPD_CLIENT_ROLE", "HEAPD_REQUIRED_ROLE", "HEAPD_REJECTED", "HEAPD_BY_CODE",
            "HEAPD_DEFAULT_ROLE", "HEAPD_ACCESS_RULES",
        ]
        for entry in try catalog() {
            let text = entry.lines.joined(separator: "\n")
            for part in text.split(separator: "@").enumerated() where part.offset % 2 == 1 {
                XCTAssertTrue(known.contains(String(part.element)), "\(entry.id) mentions @\(part.element)@")
            }
        }
    }
}
