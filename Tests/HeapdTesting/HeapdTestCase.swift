import Foundation
import HeapClient
import HeapProtocol
import XCTest

/// A test case with its own heapd (started with ``extraArguments``), checked with `DEBUG VERIFY` and
/// stopped after every test, also a failed one.
open class HeapdTestCase: XCTestCase {
    public var heapd: HeapdProcess!

    /// Arguments heapd starts with in every test of the case, after `--socket`.
    open var extraArguments: [String] { [] }

    open override func setUpWithError() throws {
        try super.setUpWithError()
        heapd = try HeapdProcess(arguments: extraArguments)
    }

    open override func tearDownWithError() throws {
        // setUp may have thrown before heapd existed.
        guard let heapd else { return }
        defer { self.heapd = nil }
        try heapd.verifyAndStop()
        try super.tearDownWithError()
    }

    /// Reads `INFO` into a dictionary of its `key:value` lines.
    public func info(_ client: HeapConnection, _ section: String = "all") throws -> [String: String] {
        guard case .bulk(let bytes) = try client.call("INFO", section) else { return [:] }
        var result: [String: String] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { result[String(parts[0])] = String(parts[1]) }
        }
        return result
    }
}
