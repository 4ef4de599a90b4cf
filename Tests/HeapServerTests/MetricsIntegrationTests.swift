import Foundation
import HeapClient
import HeapProtocol
import HeapdTesting
import XCTest

/// `METRICS` against the real heapd: Prometheus's text format, whose figures follow what clients do
/// (clients/python/tests/test_metrics.py scrapes it over HTTP with prometheus_client's parser).
final class MetricsIntegrationTests: HeapdTestCase {
    /// The samples of one scrape by `name{labels}` as written, and the `# TYPE` of each family.
    static func scrape(_ client: HeapConnection) throws -> (samples: [String: Double], types: [String: String]) {
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
        let before = try Self.scrape(client)
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

        let after = try Self.scrape(client)
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
        _ = try Self.scrape(other)
        let third = try Self.scrape(client)
        for (name, value) in after.samples where name.contains("_total") {
            XCTAssertGreaterThanOrEqual(third.samples[name] ?? -1, value, name)
        }
    }
}

/// `METRICS` of a heapd whose full collections mark alive in steps of 1 µs.
final class MarkStepMetricsIntegrationTests: HeapdTestCase {
    override var extraArguments: [String] { ["--gc-mark-step", "1"] }

    /// A full collection that marks alive in steps stops the world once per step: the histogram counts
    /// every stop, as `INFO`'s generation-2 `pause_count` does.
    func testEveryMarkStepIsAPauseInTheHistogram() throws {
        let client = try heapd.connect()
        _ = try client.pipeline([["GC", "DISABLE"], ["GC", "COLLECT"]])
        // Many roots, so that a step of 1 µs cannot mark them all at once.
        _ = try client.pipeline((0..<400).map { ["NEW", "g.n\($0)", "list"] })
        _ = try client.pipeline([["GC", "SET_THRESHOLD", "20", "1", "1"], ["GC", "ENABLE"]])
        /// A field of INFO's `gc_gen2` line (`collections=…,pause_count=…`).
        func generation2(_ field: String) throws -> Double? {
            let line = try info(client, "gc")["gc_gen2"] ?? ""
            return line.split(separator: ",").first { $0.hasPrefix(field + "=") }.flatMap {
                Double($0.dropFirst(field.count + 1))
            }
        }
        var steps = 0
        // Until an automatic full collection (the second of generation 2, after GC COLLECT) finished;
        // one that is still marking has counted its steps in INFO but not yet reported them.
        for round in 0..<100 {
            _ = try client.pipeline((0..<100).map { ["NEW", "t\(round)_\($0)", "list"] })
            _ = try client.call("GC", "WAIT", "1", "TIMEOUT", "10000")
            steps = Int(try info(client, "gc")["gc_mark_steps"] ?? "0") ?? 0
            if steps > 0, try generation2("collections") ?? 0 >= 2 { break }
        }
        _ = try client.call("GC", "DISABLE")
        // A collection started before the DISABLE ends its stops now; then nothing moves.
        _ = try client.call("GC", "WAIT", "1", "TIMEOUT", "200")
        XCTAssertGreaterThan(steps, 0, "no full collection marked in steps")
        let pauseCount = try generation2("pause_count")
        let scraped = try MetricsIntegrationTests.scrape(client).samples[
            #"heapd_gc_pause_seconds_count{generation="2"}"#]
        XCTAssertNotNil(pauseCount)
        XCTAssertEqual(scraped, pauseCount, "METRICS and INFO count generation 2's stops alike")
        XCTAssertGreaterThan(scraped ?? 0, Double(steps), "every step and the last stop")
    }
}
