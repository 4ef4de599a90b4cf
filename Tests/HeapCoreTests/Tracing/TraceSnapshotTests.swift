import Foundation
import HeapdTesting
import XCTest

@testable import HeapCore

/// Snapshot statistics, comparisons and filters against CPython's own `tracemalloc` module, run on
/// the same traces (tests/tracemalloc/oracle.py), and Python's size formatting.
final class TraceSnapshotTests: XCTestCase {
    func testSizesFormatAsPythonFormatsThem() throws {
        // Expected strings printed by CPython 3.11's tracemalloc._format_size.
        let cases: [(Double, Bool, String)] = [
            (0, false, "0 B"), (1023, false, "1023 B"), (10 * 1024 - 1, false, "10239 B"),
            (10 * 1024, false, "10.0 KiB"), (1_258_291, false, "1229 KiB"), (12_000_000, false, "11.4 MiB"),
            (99.95 * 1024, false, "100.0 KiB"),
            (150 * 1024, false, "150 KiB"), (0, true, "+0 B"), (-48, true, "-48 B"), (1536, true, "+1536 B"),
            (-20480, true, "-20.0 KiB"), (7.25 * 1024 * 1024 * 1024 * 1024 * 1024, false, "7424 TiB"),
            (0.125 * 1024 * 1024, false, "128 KiB"), (12.25, false, "12 B"), (12.5, false, "12 B"),
        ]
        for (bytes, sign, expected) in cases {
            XCTAssertEqual(formatSize(bytes, sign: sign), expected, "\(bytes) sign \(sign)")
        }
    }

    func testStatisticLinesReadAsPythonPrintsThem() throws {
        let frame = TraceFrame(filename: "script.heap", lineno: 12)
        let stat = TraceStatistic(traceback: Traceback(frames: [frame]), size: 1_258_291, count: 1000)
        XCTAssertEqual(stat.description, "script.heap:12: size=1229 KiB, count=1000, average=1258 B")
        let gone = TraceStatisticDiff(
            traceback: Traceback(frames: [frame]), size: 0, sizeDiff: -48, count: 0, countDiff: -3)
        XCTAssertEqual(gone.description, "script.heap:12: size=0 B (-48 B), count=0 (-3)")
    }

    func testGlobMatchesAsFnmatch() {
        XCTAssertTrue(Glob.matches("lib/x.heap", pattern: "*.heap"))
        XCTAssertTrue(Glob.matches("lib/x.heap", pattern: "lib/*"))
        XCTAssertFalse(Glob.matches("lib/x.heap", pattern: "x*"))
        XCTAssertTrue(Glob.matches("a.heap", pattern: "[ab].heap"))
        XCTAssertFalse(Glob.matches("c.heap", pattern: "[ab].heap"))
        XCTAssertTrue(Glob.matches("c.heap", pattern: "[!ab].heap"))
        XCTAssertTrue(Glob.matches("b.heap", pattern: "[a-c].h?ap"))
        XCTAssertTrue(Glob.matches("[x", pattern: "[x"), "an unclosed [ is literal")
        XCTAssertTrue(Glob.matches("", pattern: "*"))
        XCTAssertFalse(Glob.matches("A.heap", pattern: "a.heap"), "case-sensitive on Linux")
        XCTAssertTrue(Glob.matches("aXbXc", pattern: "a*b*c"))
        XCTAssertFalse(Glob.matches("aXbXd", pattern: "a*b*c"))
    }

    func testCumulativeTracebackIsRejectedWithPythonsMessage() {
        let snapshot = TraceSnapshot(traces: [], tracebackLimit: 1)
        XCTAssertThrowsError(try snapshot.statistics(by: .traceback, cumulative: true)) { error in
            XCTAssertEqual((error as? HeapError)?.code, .value)
        }
    }

    /// Random traces with many ties (few sizes, few files), compared line by line with CPython.
    func testStatisticsCompareAndFiltersMatchCPython() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trace-\(getpid())-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let filterSets: [[TraceFilter]] = [
            [TraceFilter(inclusive: true, filenamePattern: "*.heap")],
            [TraceFilter(inclusive: false, filenamePattern: "lib/*")],
            [
                TraceFilter(inclusive: true, filenamePattern: "[ab].heap"),
                TraceFilter(inclusive: true, filenamePattern: "lib/*", lineno: 2),
                TraceFilter(inclusive: false, filenamePattern: "b.heap", lineno: 1, allFrames: true),
            ],
            [TraceFilter(inclusive: false, filenamePattern: "<client*", allFrames: true)],
            [],
        ]
        for seed in 1...12 {
            var random = SeededGenerator(seed: UInt64(seed))
            let old = randomSnapshot(&random, count: 40)
            var newTraces = Array(old.traces.prefix(Int(random.next() % 40)))
            newTraces += randomSnapshot(&random, count: 60).traces
            let new = TraceSnapshot(traces: newTraces, tracebackLimit: 3)
            let filters = filterSets[seed % filterSets.count]
            let newPath = directory.appendingPathComponent("new.json")
            let oldPath = directory.appendingPathComponent("old.json")
            let filterPath = directory.appendingPathComponent("filters.json")
            try dump(new, to: newPath)
            try dump(old, to: oldPath)
            try JSONSerialization.data(
                withJSONObject: filters.map { filter -> [String: Any] in
                    var object: [String: Any] = [
                        "inclusive": filter.inclusive, "pattern": filter.filenamePattern,
                        "all_frames": filter.allFrames,
                    ]
                    if let line = filter.lineno { object["lineno"] = line }
                    return object
                }
            ).write(to: filterPath)
            let python = try runOracle([newPath.path, oldPath.path, filterPath.path])
            let ours = try report(new: new, old: old, filters: filters)
            XCTAssertGreaterThan(python.count, 100, "seed \(seed): the oracle printed its report")
            XCTAssertEqual(ours.count, python.count, "seed \(seed): line counts")
            for (index, (mine, theirs)) in zip(ours, python).enumerated() where mine != theirs {
                XCTFail("seed \(seed), line \(index):\n heapd:  \(mine)\n python: \(theirs)")
                break
            }
        }
    }

    // MARK: Helpers

    private func report(new: TraceSnapshot, old: TraceSnapshot, filters: [TraceFilter]) throws -> [String] {
        func line(_ text: String, _ traceback: Traceback) -> String {
            "\(text) | " + traceback.oldestFirst.map(\.description).joined(separator: " < ")
        }
        var out: [String] = []
        for key in [TraceSnapshot.Key.filename, .lineno, .traceback] {
            for cumulative in [false, true] where !(cumulative && key == .traceback) {
                out.append("## statistics \(key.rawValue) \(cumulative ? "True" : "False")")
                out += try new.statistics(by: key, cumulative: cumulative).map { line($0.description, $0.traceback) }
                out.append("## compare_to \(key.rawValue) \(cumulative ? "True" : "False")")
                out += try new.compared(to: old, by: key, cumulative: cumulative).map {
                    line($0.description, $0.traceback)
                }
            }
        }
        out.append("## filter_traces")
        out += try new.filtered(by: filters).statistics(by: .traceback).map { line($0.description, $0.traceback) }
        return out
    }

    private func randomSnapshot(_ random: inout SeededGenerator, count: Int) -> TraceSnapshot {
        let files = ["a.heap", "b.heap", "lib/x.heap", "<client 1>"]
        let sizes = [16, 32, 48, 64, 1024, 40_000]
        var traces: [TraceSnapshot.Trace] = []
        for _ in 0..<count {
            let depth = 1 + Int(random.next() % 3)
            let frames = (0..<depth).map { _ in
                TraceFrame(filename: files[Int(random.next() % UInt64(files.count))], lineno: Int(random.next() % 4))
            }
            traces.append(
                TraceSnapshot.Trace(
                    size: sizes[Int(random.next() % UInt64(sizes.count))], traceback: Traceback(frames: frames)))
        }
        return TraceSnapshot(traces: traces, tracebackLimit: 3)
    }

    private func dump(_ snapshot: TraceSnapshot, to url: URL) throws {
        let traces: [[Any]] = snapshot.traces.map { [$0.size, $0.traceback.frames.map { [$0.filename, $0.lineno] }] }
        try JSONSerialization.data(
            withJSONObject: [
                "format": "heapd-tracemalloc-snapshot", "version": 1, "traceback_limit": snapshot.tracebackLimit,
                "traces": traces,
            ] as [String: Any]
        ).write(to: url)
    }

    private func runOracle(_ arguments: [String]) throws -> [String] {
        try PythonOracle.runScript("tests/tracemalloc/oracle.py", arguments)
    }
}
