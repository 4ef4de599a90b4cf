import Foundation
import HeapClient
import HeapProtocol
import HeapdTesting
import XCTest

/// `METRICS` against the real heapd: Prometheus's text format, whose figures follow what clients do
/// (clients/python/tests/test_metrics.py scrapes it over HTTP with prometheus_client's parser).
final class MetricsIntegrationTests: HeapdTestCase {
    /// The samples of one scrape by `name{labels}` as written, and the `# TYPE` of each family.
    private func scrape(_ client: HeapConnection) throws -> (samples: [String: Double], types: [String: String]) {
        guard case .bulk(let bytes) = try client.call("METRICS") else {
            XCTFail("METRICS did not reply a bulk string")
            return ([:], [:])
        }
        var samples: [String: Double] = [:]
        var types: [String: String] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let words = line.split(separator: " ")
                types[String(words[2])] = String(words[3])
            } else if !line.hasPrefix("#"), let space = line.lastIndex(of: " ") {
                samples[String(line[..<space])] = Double(line[line.index(after: space)...])
            }
        }
        return (samples, types)
    }

    func testFiguresFollowTheHeapAndTheCommands() throws {
        let client = try heapd.connect()
        let before = try scrape(client)
        XCTAssertEqual(before.types["heapd_objects"], "gauge")
        XCTAssertEqual(before.types["heapd_commands_processed_total"], "counter")
        XCTAssertEqual(before.types["heapd_errors_total"], "counter")
        XCTAssertEqual(before.types["heapd_gc_pause_seconds"], "histogram")
        XCTAssertEqual(before.samples[#"heapd_errors_total{code="NOVAR"}"#], 0, "every code is there from the start")

        _ = try client.pipeline([
            ["NEW", "a", "list"], ["NEW", "b", "list"], ["APPEND", "a", "b"], ["APPEND", "b", "a"], ["DEL", "a", "b"],
            ["NEW", "keep", "dict"],
        ])
        XCTAssertErrorCode(try client.call("LEN", "nothing"), "NOVAR")
        XCTAssertErrorCode(try client.call("LEN", "nothing"), "NOVAR")
        XCTAssertErrorCode(try client.call("METRICS", "now"), "ARGS")
        XCTAssertEqual(try client.call("GC", "COLLECT"), .integer(2))

        let after = try scrape(client)
        XCTAssertEqual(after.samples[#"heapd_objects{type="dict"}"#], 1)
        XCTAssertEqual(after.samples[#"heapd_objects{type="list"}"#], 0, "the cycle was collected")
        XCTAssertEqual(after.samples[#"heapd_errors_total{code="NOVAR"}"#], 2)
        XCTAssertEqual(after.samples[#"heapd_errors_total{code="ARGS"}"#], 1)
        XCTAssertEqual(
            after.samples[#"heapd_gc_collections_total{generation="2"}"#],
            (before.samples[#"heapd_gc_collections_total{generation="2"}"#] ?? 0) + 1)
        XCTAssertGreaterThanOrEqual(after.samples[#"heapd_gc_collected_objects_total{generation="2"}"#] ?? 0, 2)
        XCTAssertGreaterThanOrEqual(after.samples[#"heapd_gc_pause_seconds_count{generation="2"}"#] ?? 0, 1)
        XCTAssertEqual(
            after.samples[#"heapd_gc_pause_seconds_bucket{generation="2",le="+Inf"}"#],
            after.samples[#"heapd_gc_pause_seconds_count{generation="2"}"#])
        XCTAssertGreaterThan(
            after.samples["heapd_commands_processed_total"] ?? 0, before.samples["heapd_commands_processed_total"] ?? 0)
        XCTAssertEqual(after.samples["heapd_clients"], 1)

        // Counters never go back, also when another scrape comes in between.
        let other = try heapd.connect()
        _ = try scrape(other)
        let third = try scrape(client)
        for (name, value) in after.samples where name.contains("_total") {
            XCTAssertGreaterThanOrEqual(third.samples[name] ?? -1, value, name)
        }
    }
}
