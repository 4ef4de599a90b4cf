import Foundation
import HeapProtocol
import XCTest

/// Fails unless `reply` is an error reply with the wire code `code` (`NOVAR`, `WRONGTYPE`, …).
public func XCTAssertErrorCode(_ reply: Reply, _ code: String, file: StaticString = #filePath, line: UInt = #line) {
    guard case .error(let actual, _) = reply else {
        XCTFail("expected error \(code), got \(reply)", file: file, line: line)
        return
    }
    XCTAssertEqual(actual, code, file: file, line: line)
}

/// The text of a bulk reply, or nil for any other reply.
public func bulkText(_ reply: Reply) -> String? {
    if case .bulk(let bytes) = reply { return String(decoding: bytes, as: UTF8.self) }
    return nil
}
