import Foundation
import HeapClient
import HeapProtocol
import HeapdTesting
import XCTest

/// tracemalloc over the real socket: tracing state, traced memory, tracebacks from AT and scopes,
/// snapshots, and a dump that CPython's own tracemalloc reads and agrees with.
final class TracemallocIntegrationTests: HeapdTestCase {
    func testStartStopAndTracedMemoryFollowAllocationsAndFrees() throws {
        let client = try heapd.connect()
        XCTAssertEqual(try client.call("TRACEMALLOC", "IS_TRACING"), .integer(0))
        XCTAssertEqual(try client.call("TRACEMALLOC", "GET_TRACED_MEMORY"), .array([.integer(0), .integer(0)]))
        XCTAssertErrorCode(try client.call("TRACEMALLOC", "TAKE_SNAPSHOT"), "STATE")
        XCTAssertErrorCode(try client.call("TRACEMALLOC", "START", "0"), "VALUE")
        XCTAssertErrorCode(try client.call("TRACEMALLOC", "START", "65536"), "VALUE")
        XCTAssertErrorCode(try client.call("TRACEMALLOC", "START", "two"), "SYNTAX")
        XCTAssertEqual(try client.call("TRACEMALLOC", "START", "4"), .simple("OK"))
        XCTAssertEqual(try client.call("TRACEMALLOC", "START", "9"), .simple("OK"), "a no-op while tracing")
        XCTAssertEqual(try client.call("TRACEMALLOC", "GET_TRACEBACK_LIMIT"), .integer(4))
        let section = try info(client, "tracemalloc")
        XCTAssertEqual(section["tracemalloc_tracing"], "1")
        XCTAssertEqual(section["tracemalloc_traceback_limit"], "4")
        XCTAssertEqual(section["tracemalloc_snapshots"], "0")
        XCTAssertEqual(try client.call("TRACEMALLOC", "IS_TRACING"), .integer(1))

        XCTAssertEqual(try client.call("NEW", "big", "bytes", "100000"), .simple("OK"))
        let (current, peak) = try tracedMemory(client)
        XCTAssertGreaterThanOrEqual(current, 100_000)
        XCTAssertLessThan(current, 100_200)
        XCTAssertEqual(peak, current)
        XCTAssertEqual(try client.call("DEL", "big"), .integer(1))
        let (afterFree, peakAfterFree) = try tracedMemory(client)
        XCTAssertLessThan(afterFree, 200, "the freed block left the traces")
        XCTAssertEqual(peakAfterFree, peak, "the peak remembers it")
        XCTAssertEqual(try client.call("TRACEMALLOC", "RESET_PEAK"), .simple("OK"))
        XCTAssertEqual(try tracedMemory(client).peak, afterFree)

        XCTAssertEqual(try client.call("NEW", "kept", "list"), .simple("OK"))
        guard case .integer(let overhead) = try client.call("TRACEMALLOC", "GET_TRACEMALLOC_MEMORY") else {
            return XCTFail("GET_TRACEMALLOC_MEMORY")
        }
        XCTAssertGreaterThan(overhead, 0)
        XCTAssertEqual(try client.call("TRACEMALLOC", "CLEAR_TRACES"), .simple("OK"))
        XCTAssertEqual(try client.call("TRACEMALLOC", "GET_TRACED_MEMORY"), .array([.integer(0), .integer(0)]))
        XCTAssertEqual(try client.call("TRACEMALLOC", "GET_OBJECT_TRACEBACK", "kept"), .nullArray)
        XCTAssertEqual(try client.call("TRACEMALLOC", "STOP"), .simple("OK"))
        XCTAssertEqual(try client.call("TRACEMALLOC", "IS_TRACING"), .integer(0))
        XCTAssertEqual(try client.call("NEW", "late", "list"), .simple("OK"))
        XCTAssertEqual(try client.call("TRACEMALLOC", "GET_TRACED_MEMORY"), .array([.integer(0), .integer(0)]))
    }

    func testTracebacksComeFromPositionsAndScopeCallSites() throws {
        let client = try heapd.connect()
        XCTAssertEqual(try client.call("TRACEMALLOC", "START", "3"), .simple("OK"))
        XCTAssertEqual(try client.call("NEW", "early", "list"), .simple("OK"))
        guard case .array(let early) = try client.call("TRACEMALLOC", "GET_OBJECT_TRACEBACK", "early"),
            early.count == 1, let frame = bulkText(early[0])
        else { return XCTFail("a traceback for early") }
        XCTAssertTrue(frame.hasPrefix("<client "), "before any AT: \(frame)")

        XCTAssertEqual(try client.call("AT", "main.heap:4"), .simple("OK"))
        XCTAssertEqual(bulkText(try client.call("AT")), "main.heap:4")
        XCTAssertEqual(try client.call("AT", "main.heap:5", "SCOPE", "PUSH", "outer"), .integer(1))
        XCTAssertEqual(try client.call("AT", "lib.heap:10", "SCOPE", "PUSH", "inner"), .integer(2))
        XCTAssertEqual(try client.call("AT", "lib.heap:20", "NEW", "deep", "list"), .simple("OK"))
        XCTAssertEqual(try client.call("SET", "g.deep", "deep"), .simple("OK"))
        XCTAssertEqual(
            try client.call("TRACEMALLOC", "GET_OBJECT_TRACEBACK", "deep"),
            .array([.bulk("main.heap:5"), .bulk("lib.heap:10"), .bulk("lib.heap:20")]), "oldest first")
        XCTAssertEqual(try client.call("SCOPE", "POP"), .integer(1))
        XCTAssertEqual(bulkText(try client.call("AT")), "lib.heap:10", "back at the call site")
        XCTAssertEqual(try client.call("SCOPE", "POP"), .integer(0))
        XCTAssertEqual(bulkText(try client.call("AT")), "main.heap:5")

        // The limit cuts the oldest frames.
        XCTAssertEqual(try client.call("TRACEMALLOC", "STOP"), .simple("OK"))
        XCTAssertEqual(try client.call("TRACEMALLOC", "START", "1"), .simple("OK"))
        _ = try client.pipeline([["SCOPE", "PUSH", "f"], ["AT", "lib.heap:30", "NEW", "g.shallow", "list"]])
        XCTAssertEqual(
            try client.call("TRACEMALLOC", "GET_OBJECT_TRACEBACK", "g.shallow"), .array([.bulk("lib.heap:30")]))
        XCTAssertEqual(try client.call("TRACEMALLOC", "GET_OBJECT_TRACEBACK", "#1"), .nullArray, "immortal")

        XCTAssertErrorCode(try client.call("AT", "nocolon"), "SYNTAX")
        guard case .array(let help) = try client.call("HELP", "TRACEMALLOC") else { return XCTFail("HELP") }
        XCTAssertEqual(help.count, 17, "every TRACEMALLOC command")
        XCTAssertErrorCode(try client.call("AT", "file:-1"), "SYNTAX")
        XCTAssertErrorCode(try client.call("AT", ":3"), "SYNTAX")
        XCTAssertErrorCode(try client.call("AT", "f.heap:1", "NOSUCH"), "UNKNOWN")
        XCTAssertErrorCode(try client.call("TRACEMALLOC", "GET_OBJECT_TRACEBACK", "nothing"), "NOVAR")
        XCTAssertEqual(try client.call("DEL", "g.deep", "g.shallow"), .integer(2))
    }

    func testImplicitPositionsKeepCountingAfterAScopeReturns() throws {
        let client = try heapd.connect()
        XCTAssertEqual(try client.call("TRACEMALLOC", "START", "2"), .simple("OK"))
        _ = try client.pipeline([
            ["SCOPE", "PUSH", "f"], ["SCOPE", "POP"], ["NEW", "a", "list"], ["NEW", "b", "list"],
        ])
        guard case .array(let first) = try client.call("TRACEMALLOC", "GET_OBJECT_TRACEBACK", "a"),
            case .array(let second) = try client.call("TRACEMALLOC", "GET_OBJECT_TRACEBACK", "b"),
            let lineA = first.last.flatMap(bulkText), let lineB = second.last.flatMap(bulkText)
        else { return XCTFail("tracebacks") }
        XCTAssertTrue(lineA.hasPrefix("<client ") && lineA.hasSuffix(":4"), lineA)
        XCTAssertTrue(lineB.hasSuffix(":5"), "the command count goes on after SCOPE POP: \(lineB)")
    }

    func testSnapshotsStatisticsCompareFilterAndErrors() throws {
        let client = try heapd.connect()
        XCTAssertEqual(try client.call("TRACEMALLOC", "START"), .simple("OK"))
        _ = try client.pipeline([["AT", "leak.heap:1", "NEW", "cache", "list"]])
        guard case .integer(let first) = try client.call("TRACEMALLOC", "TAKE_SNAPSHOT") else {
            return XCTFail("TAKE_SNAPSHOT")
        }
        for index in 0..<50 {
            _ = try client.pipeline([
                ["AT", "leak.heap:2", "NEW", "item", "bytes", "1000"],
                ["AT", "leak.heap:3", "APPEND", "cache", "item"],
                ["AT", "other.heap:\(index % 2)", "NEW", "tmp", "int", "\(index)"],
            ])
        }
        guard case .integer(let second) = try client.call("TRACEMALLOC", "TAKE_SNAPSHOT") else {
            return XCTFail("TAKE_SNAPSHOT")
        }
        let top = try lines(client.call("TRACEMALLOC", "STATISTICS", "\(second)", "lineno", "LIMIT", "2"))
        XCTAssertEqual(top.count, 2)
        XCTAssertEqual(top.first, "leak.heap:2: size=49.4 KiB, count=50, average=1012 B")
        let diff = try lines(client.call("TRACEMALLOC", "COMPARE", "\(second)", "\(first)", "filename"))
        XCTAssertEqual(diff.first?.hasPrefix("leak.heap:0: size="), true, "\(diff)")
        XCTAssertTrue(diff.first?.contains("(+") ?? false)
        let reverse = try lines(client.call("TRACEMALLOC", "COMPARE", "\(first)", "\(second)", "lineno"))
        XCTAssertTrue(
            reverse.contains { $0.hasPrefix("leak.heap:2: size=0 B (-49.4 KiB), count=0 (-50)") }, "\(reverse)")

        guard
            case .integer(let filtered) = try client.call(
                "TRACEMALLOC", "FILTER", "\(second)", "INCLUDE", "leak.*", "EXCLUDE", "*", "LINE", "3")
        else { return XCTFail("FILTER") }
        let kept = try lines(client.call("TRACEMALLOC", "STATISTICS", "\(filtered)", "lineno"))
        XCTAssertEqual(kept.map { $0.prefix(11) }, ["leak.heap:2", "leak.heap:1"])
        guard case .array(let raw) = try client.call("TRACEMALLOC", "STATISTICS", "\(filtered)", "lineno", "RAW"),
            case .array(let entry) = raw.first
        else { return XCTFail("RAW") }
        XCTAssertEqual(entry, [.array([.bulk("leak.heap:2")]), .integer(50 * 1012), .integer(50)])

        XCTAssertErrorCode(try client.call("TRACEMALLOC", "STATISTICS", "999", "lineno"), "NOSNAPSHOT")
        XCTAssertErrorCode(try client.call("TRACEMALLOC", "STATISTICS", "\(first)", "module"), "SYNTAX")
        XCTAssertErrorCode(try client.call("TRACEMALLOC", "STATISTICS", "\(first)", "traceback", "CUMULATIVE"), "VALUE")
        XCTAssertErrorCode(try client.call("TRACEMALLOC", "STATISTICS", "\(first)", "lineno", "LIMIT"), "SYNTAX")
        XCTAssertErrorCode(try client.call("TRACEMALLOC", "FILTER", "\(first)", "MAYBE", "x"), "SYNTAX")
        XCTAssertErrorCode(try client.call("TRACEMALLOC", "LOAD", "missing.json"), "IO")
        for name in ["/etc/passwd", "../escape.json", ".hidden", "a/b.json", ""] {
            XCTAssertErrorCode(try client.call("TRACEMALLOC", "DUMP", "\(first)", name), "SYNTAX")
            XCTAssertErrorCode(try client.call("TRACEMALLOC", "LOAD", name), "SYNTAX")
        }
        XCTAssertErrorCode(try client.call("TRACEMALLOC", "NOPE"), "UNKNOWN")
        XCTAssertErrorCode(try client.call("TRACEMALLOC"), "ARGS")

        guard case .array(let stored) = try client.call("TRACEMALLOC", "SNAPSHOTS") else { return XCTFail("SNAPSHOTS") }
        XCTAssertEqual(stored.count, 3)
        XCTAssertEqual(
            stored.compactMap { entry -> String? in
                guard case .array(let fields) = entry, fields.count == 5 else { return nil }
                return bulkText(fields[4])
            }, ["taken", "taken", "filtered"])
        XCTAssertEqual(try client.call("TRACEMALLOC", "DROP_SNAPSHOT", "\(filtered)"), .simple("OK"))
        XCTAssertErrorCode(try client.call("TRACEMALLOC", "DROP_SNAPSHOT", "\(filtered)"), "NOSNAPSHOT")
        // Snapshots are copies: they outlive STOP.
        XCTAssertEqual(try client.call("TRACEMALLOC", "STOP"), .simple("OK"))
        XCTAssertEqual(
            try lines(client.call("TRACEMALLOC", "STATISTICS", "\(second)", "lineno")).count, 4,
            "leak.heap:1-3 and the last tmp")
    }

    /// The dump is read by CPython's tracemalloc, which must print exactly what heapd printed.
    func testDumpIsReadByCPythonWhichAgreesLineByLine() throws {
        let client = try heapd.connect()
        XCTAssertEqual(try client.call("TRACEMALLOC", "START", "5"), .simple("OK"))
        var commands: [[String]] = []
        for index in 0..<40 {
            commands.append(["AT", "a.heap:\(index % 7)", "NEW", "x\(index)", "bytes", "\(index * 37 % 500)"])
            if index % 5 == 0 { commands.append(["AT", "b.heap:\(index)", "SCOPE", "PUSH", "f"]) }
            if index % 9 == 0 { commands.append(["SCOPE", "POP"]) }
        }
        _ = try client.pipeline(commands)
        guard case .integer(let old) = try client.call("TRACEMALLOC", "TAKE_SNAPSHOT") else { return XCTFail("snap") }
        _ = try client.pipeline((0..<30).map { ["AT", "c.heap:\($0 % 4)", "NEW", "y\($0)", "list"] })
        guard case .integer(let new) = try client.call("TRACEMALLOC", "TAKE_SNAPSHOT") else { return XCTFail("snap") }
        let newPath = heapd.directory + "/new.json"
        let oldPath = heapd.directory + "/old.json"
        let filterPath = heapd.directory + "/filters.json"
        XCTAssertEqual(bulkText(try client.call("TRACEMALLOC", "DUMP", "\(new)", "new.json")), newPath)
        XCTAssertEqual(bulkText(try client.call("TRACEMALLOC", "DUMP", "\(old)", "old.json")), oldPath)
        try Data(#"[{"inclusive": false, "pattern": "c*", "all_frames": true}]"#.utf8).write(
            to: URL(fileURLWithPath: filterPath))
        guard case .integer(let loaded) = try client.call("TRACEMALLOC", "LOAD", "new.json") else {
            return XCTFail("LOAD")
        }

        let python = try runOracle([newPath, oldPath, filterPath])
        var ours: [String] = []
        for key in ["filename", "lineno", "traceback"] {
            for cumulative in [false, true] where !(cumulative && key == "traceback") {
                let flag = cumulative ? ["CUMULATIVE"] : []
                ours.append("## statistics \(key) \(cumulative ? "True" : "False")")
                ours += try framedLines(client, ["TRACEMALLOC", "STATISTICS", "\(loaded)", key] + flag)
                ours.append("## compare_to \(key) \(cumulative ? "True" : "False")")
                ours += try framedLines(client, ["TRACEMALLOC", "COMPARE", "\(loaded)", "\(old)", key] + flag)
            }
        }
        guard
            case .integer(let filtered) = try client.call(
                "TRACEMALLOC", "FILTER", "\(new)", "EXCLUDE", "c*", "ALL_FRAMES")
        else { return XCTFail("FILTER") }
        ours.append("## filter_traces")
        ours += try framedLines(client, ["TRACEMALLOC", "STATISTICS", "\(filtered)", "traceback"])
        XCTAssertGreaterThan(python.count, 60)
        XCTAssertEqual(ours, python)
    }

    /// A file may claim anything: what cannot come from a heap is refused, and sums never trap.
    func testLoadRefusesImpossibleSnapshotsAndHugeSizesDoNotOverflow() throws {
        let client = try heapd.connect()
        func load(_ json: String) throws -> Reply {
            try Data(json.utf8).write(to: URL(fileURLWithPath: heapd.directory + "/s.json"))
            return try client.call("TRACEMALLOC", "LOAD", "s.json")
        }
        let head = #"{"format": "heapd-tracemalloc-snapshot", "version": 1, "traceback_limit": 1, "traces": "#
        XCTAssertErrorCode(try load(head + #"[[9223372036854775807, [["a", 1]]]]}"#), "VALUE")
        XCTAssertErrorCode(try load(head + #"[[-1, [["a", 1]]]]}"#), "VALUE")
        XCTAssertErrorCode(try load(head + #"[[16, [["a", -1]]]]}"#), "VALUE")
        XCTAssertErrorCode(try load(head + #"[[16, [["a", 1], ["b", 2]]]]}"#), "VALUE")  // more frames than the limit
        XCTAssertErrorCode(try load(#"{"format": "pickle"}"#), "VALUE")
        XCTAssertErrorCode(try load("not json"), "VALUE")
        let big = 1 << 48
        let traces = Array(repeating: "[\(big), [[\"a\", 1]]]", count: 40_000).joined(separator: ", ")
        guard case .integer(let id) = try load(head + "[" + traces + "]}") else { return XCTFail("LOAD") }
        for key in ["lineno", "filename", "traceback"] {
            guard case .array(let lines) = try client.call("TRACEMALLOC", "STATISTICS", "\(id)", key) else {
                return XCTFail("STATISTICS \(key)")
            }
            XCTAssertEqual(lines.count, 1)
        }
        XCTAssertEqual(try client.call("PING"), .simple("PONG"), "heapd is alive")
    }

    func testDoctorNamesTheLineThatGrewBetweenTheLastTwoSnapshots() throws {
        let client = try heapd.connect()
        XCTAssertEqual(try client.call("TRACEMALLOC", "START"), .simple("OK"))
        _ = try client.pipeline([["AT", "svc.heap:1", "NEW", "g.cache", "list"], ["TRACEMALLOC", "TAKE_SNAPSHOT"]])
        for _ in 0..<20 {
            _ = try client.pipeline([
                ["AT", "svc.heap:7", "NEW", "item", "bytes", "2000"],
                ["AT", "svc.heap:8", "APPEND", "g.cache", "item"],
            ])
        }
        _ = try client.call("TRACEMALLOC", "TAKE_SNAPSHOT")
        let report = bulkText(try client.call("DOCTOR")) ?? ""
        XCTAssertTrue(report.contains("Growth between tracemalloc snapshots 1 and 2"), report)
        XCTAssertTrue(report.contains("svc.heap:7 (+39.3 KiB, +20 blocks, now 39.3 KiB)"), report)
        // A filtered copy is not a new state of the heap: the finding still compares 1 and 2.
        _ = try client.call("TRACEMALLOC", "FILTER", "1", "INCLUDE", "nothing*")
        XCTAssertTrue((bulkText(try client.call("DOCTOR")) ?? "").contains("snapshots 1 and 2"))
        // Without growth between the last two, the finding goes away; shrinking is not growth either.
        _ = try client.call("TRACEMALLOC", "TAKE_SNAPSHOT")
        let after = bulkText(try client.call("DOCTOR")) ?? ""
        XCTAssertFalse(after.contains("Growth between"), after)
        XCTAssertEqual(try client.call("DEL", "g.cache"), .integer(1))
        _ = try client.call("TRACEMALLOC", "TAKE_SNAPSHOT")
        let shrunk = bulkText(try client.call("DOCTOR")) ?? ""
        XCTAssertFalse(shrunk.contains("Growth between"), shrunk)
    }

    // MARK: Helpers

    private func tracedMemory(_ client: HeapConnection) throws -> (current: Int, peak: Int) {
        guard case .array(let pair) = try client.call("TRACEMALLOC", "GET_TRACED_MEMORY"),
            case .integer(let current) = pair[0], case .integer(let peak) = pair[1]
        else { throw CocoaError(.featureUnsupported) }
        return (Int(current), Int(peak))
    }

    private func lines(_ reply: Reply) throws -> [String] {
        guard case .array(let items) = reply else {
            XCTFail("not an array: \(reply)")
            return []
        }
        return items.compactMap(bulkText)
    }

    /// The formatted lines, each with its frames from the same query with RAW, as oracle.py prints.
    private func framedLines(_ client: HeapConnection, _ query: [String]) throws -> [String] {
        let text = try lines(client.call(query))
        guard case .array(let raw) = try client.call(query + ["RAW"]), raw.count == text.count else {
            XCTFail("RAW reply of \(query)")
            return []
        }
        return zip(text, raw).map { line, entry in
            guard case .array(let fields) = entry, case .array(let frames) = fields[0] else { return line }
            return line + " | " + frames.compactMap(bulkText).joined(separator: " < ")
        }
    }

    private func runOracle(_ arguments: [String]) throws -> [String] {
        try PythonOracle.runScript("tests/tracemalloc/oracle.py", arguments)
    }
}
