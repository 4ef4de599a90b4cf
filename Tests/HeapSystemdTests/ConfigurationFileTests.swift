import Foundation
import HeapServer
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
            XCTAssertTrue("\($0)".hasPrefix("f:1: unknown key 'threads' (log-level, or a limit: max-clients,"), "\($0)")
        }
        XCTAssertThrowsError(try ConfigurationFile.parse("max-reply = lots", source: "f")) {
            XCTAssertEqual("\($0)", "f:1: max-reply 'lots' is not a number of bytes (K, M, G suffixes)")
        }
    }

    func testLimitsAreReadWithTheirUnits() throws {
        let settings = try ConfigurationFile.parse(
            "max-reply = 16M  # replies\noutput-limit = 64MiB\ncommand-time-limit = 500\nmax-clients = 100\n",
            source: "t")
        XCTAssertEqual(
            settings.limits, [.maxReply: 16 << 20, .outputLimit: 64 << 20, .commandTimeLimit: 500, .maxClients: 100])
        XCTAssertNil(LimitSetting.commandTimeLimit.parse("5s"), "only byte sizes take suffixes")
        XCTAssertNil(LimitSetting.maxReply.parse("99999999999999999999G"), "overflow is refused, not wrapped")
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
