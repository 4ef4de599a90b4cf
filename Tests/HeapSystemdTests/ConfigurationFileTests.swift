import Foundation
import HeapSystemd
import Logging
import XCTest

final class ConfigurationFileTests: XCTestCase {
    func testLogLevelWithCommentsAndBlankLines() throws {
        let text = "# heapd\n\n  log-level = DEBUG   # louder\n"
        XCTAssertEqual(try ConfigurationFile.parse(text, source: "t"), ReloadableSettings(logLevel: .debug))
        XCTAssertEqual(try ConfigurationFile.parse("", source: "t"), ReloadableSettings())
    }

    func testErrorsNameTheFileAndLine() {
        XCTAssertThrowsError(try ConfigurationFile.parse("\nlog-level = loud", source: "/etc/heapd/heapd.conf")) {
            XCTAssertTrue("\($0)".hasPrefix("/etc/heapd/heapd.conf:2: log-level 'loud' is not one of trace"), "\($0)")
        }
        XCTAssertThrowsError(try ConfigurationFile.parse("threads = 4", source: "f")) {
            XCTAssertEqual("\($0)", "f:1: unknown key 'threads' (reloadable settings: log-level)")
        }
        XCTAssertThrowsError(try ConfigurationFile.parse("log-level", source: "f")) {
            XCTAssertTrue("\($0)".contains("expected 'key = value'"))
        }
    }

    func testAMissingFileIsEmpty() throws {
        XCTAssertEqual(try ConfigurationFile.load(path: "/nonexistent/heapd.conf"), ReloadableSettings())
    }

    func testTheShippedExampleParses() throws {
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("systemd/heapd.conf").path
        XCTAssertEqual(try ConfigurationFile.load(path: shipped), ReloadableSettings(logLevel: .info))
    }
}
