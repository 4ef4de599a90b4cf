import Foundation
import HeapClient
import HeapProtocol
import HeapdTesting
import XCTest

/// `TRACEMALLOC DUMP` and `LOAD` of a big snapshot cost the snapshot, not a copy of the file as a
/// tree of objects (before streaming, a 15 MB file took 630 MiB to load).
final class SnapshotStreamingIntegrationTests: HeapdTestCase {
    func testLoadAndDumpOfABigSnapshotStreamWithBoundedMemory() throws {
        try XCTSkipIf(runningUnderSanitizer, "a sanitizer multiplies RSS: the memory bounds mean nothing there")
        let traces = 300_000
        var json = #"{"traces": ["#
        json.reserveCapacity(traces * 40)
        for index in 0..<traces {
            if index > 0 { json += ", " }
            json += #"[\#(16 + index % 512), [["svc/module\#(index % 100).py", \#(index % 10)]]]"#
        }
        // Keys in another order than heapd writes them: JSON objects have none.
        json += #"], "traceback_limit": 1, "version": 1, "format": "heapd-tracemalloc-snapshot"}"#
        let file = heapd.directory + "/big.json"
        try Data(json.utf8).write(to: URL(fileURLWithPath: file))
        let client = try heapd.connect()
        let pid = heapd.pid

        ProcessFigures.resetPeak(of: pid)
        let beforeLoad = ProcessFigures.residentBytes(of: pid)
        guard case .integer(let loaded) = try client.call("TRACEMALLOC", "LOAD", "big.json") else {
            return XCTFail("LOAD")
        }
        let loadPeak = ProcessFigures.residentBytes(of: pid, peak: true) - beforeLoad

        ProcessFigures.resetPeak(of: pid)
        let beforeDump = ProcessFigures.residentBytes(of: pid)
        XCTAssertEqual(
            bulkText(try client.call("TRACEMALLOC", "DUMP", "\(loaded)", "copy.json")), heapd.directory + "/copy.json")
        let dumpPeak = ProcessFigures.residentBytes(of: pid, peak: true) - beforeDump
        let size =
            (try FileManager.default.attributesOfItem(atPath: heapd.directory + "/copy.json")[.size] as? Int) ?? 0
        print(
            "figures: \(traces) traces, \(json.utf8.count / 1024) KiB of JSON: LOAD peak +\(loadPeak / 1024) KiB, "
                + "DUMP (\(size / 1024) KiB) peak +\(dumpPeak / 1024) KiB")
        XCTAssertLessThan(loadPeak, 48 << 20, "LOAD keeps the traces, not the file's tree")
        XCTAssertLessThan(dumpPeak, 16 << 20, "DUMP writes chunks, never the whole file")
        let attributes = try FileManager.default.attributesOfItem(atPath: heapd.directory + "/copy.json")
        XCTAssertEqual((attributes[.posixPermissions] as? Int) ?? 0, 0o600)

        // The copy reads back to the same statistics.
        guard case .integer(let reloaded) = try client.call("TRACEMALLOC", "LOAD", "copy.json") else {
            return XCTFail("LOAD copy")
        }
        let original = try client.call("TRACEMALLOC", "STATISTICS", "\(loaded)", "lineno", "LIMIT", "20")
        XCTAssertEqual(try client.call("TRACEMALLOC", "STATISTICS", "\(reloaded)", "lineno", "LIMIT", "20"), original)
        guard case .array(let lines) = original else { return XCTFail("STATISTICS") }
        XCTAssertEqual(lines.count, 20)
    }
}
