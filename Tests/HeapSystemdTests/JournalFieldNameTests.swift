import HeapSystemd
import XCTest

final class JournalFieldNameTests: XCTestCase {
    func testMetadataKeysBecomeHeapdFields() {
        XCTAssertEqual(JournalFieldName.forMetadataKey("client_pid"), "HEAPD_CLIENT_PID")
        XCTAssertEqual(JournalFieldName.forMetadataKey("gc_pause_usec"), "HEAPD_GC_PAUSE_USEC")
        XCTAssertEqual(JournalFieldName.forMetadataKey("peer.address-v6"), "HEAPD_PEER_ADDRESS_V6")
        XCTAssertEqual(JournalFieldName.forMetadataKey("größe"), "HEAPD_GR_SSE", "ß upper-cases to SS")
    }

    func testSanitizedNamesFollowJournaldsRule() {
        XCTAssertEqual(JournalFieldName.sanitized("_PID"), "PID")
        XCTAssertEqual(JournalFieldName.sanitized("9lives"), "LIVES")
        XCTAssertEqual(JournalFieldName.sanitized("__1_x"), "X")
        XCTAssertEqual(JournalFieldName.sanitized("___"), "HEAPD_FIELD")
        XCTAssertEqual(JournalFieldName.sanitized(String(repeating: "a", count: 100)).count, 64)
        for name in ["client_pid", "_x", "9", "ümlaut", String(repeating: "k", count: 70), "a b"] {
            XCTAssertTrue(JournalFieldName.isValid(JournalFieldName.forMetadataKey(name)), name)
        }
        XCTAssertFalse(JournalFieldName.isValid("_PID"))
        XCTAssertFalse(JournalFieldName.isValid("lower"))
        XCTAssertFalse(JournalFieldName.isValid(""))
    }
}
