import Foundation
import HeapdTesting
import XCTest

/// `heapctl run --trace`, `--profile`, `--plot` and `heapctl record` against a real heapd: golden
/// output for the reports, and pictures read back as XML.
final class ProfileTests: HeapctlTestCase {
    /// Two payloads are kept in a global (the leak), one list is dropped with its frame.
    let script = """
        # leak
        NEW g.keep list
        SCOPE PUSH f
        NEW payload bytes 5000
        APPEND g.keep payload
        NEW scratch list payload
        SCOPE POP
        NEW big bytes 20000
        APPEND g.keep big

        """

    func testTracePrintsTheTopLinesOfTheScript() throws {
        let path = try writeFile("leak.heap", script)
        let result = try heapctl("run", "--trace", "--quiet", "--top", "2", path)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(
            relative(result.stdout),
            """

            Top 2 lines of leak.heap by memory still allocated (tracemalloc)
            #1: leak.heap:8: size=19.5 KiB, count=1, average=19.5 KiB
                NEW big bytes 20000
            #2: leak.heap:4: size=5012 B, count=1, average=5012 B
                NEW payload bytes 5000
            1 other: 0.0 KiB
            Total allocated size: 24.5 KiB
            Traced memory: current 24.5 KiB, peak 24.5 KiB

            """)
        // heapctl started tracing for the script, so it stopped it afterwards.
        XCTAssertEqual(try heapctl("TRACEMALLOC", "IS_TRACING").stdout, "0\n")
    }

    func testTraceLeavesTracingOnWhenItWasAlreadyOnAndSeesOnlyTheScript() throws {
        let path = try writeFile("leak.heap", script)
        XCTAssertEqual(try heapctl("TRACEMALLOC", "START").status, 0)
        XCTAssertEqual(try heapctl("NEW", "g.other", "bytes", "90000").status, 0)
        let result = try heapctl("run", "--trace", "--quiet", path)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertFalse(result.stdout.contains("90012"), "another client's allocation is filtered out")
        XCTAssertTrue(result.stdout.contains("Total allocated size: 24.5 KiB"), result.stdout)
        XCTAssertEqual(try heapctl("TRACEMALLOC", "IS_TRACING").stdout, "1\n")
        XCTAssertEqual(try heapctl("TRACEMALLOC", "STOP").status, 0)
        XCTAssertEqual(try heapctl("DEL", "g.other", "g.keep").status, 0)
    }

    func testRepeatBlocksRunNTimesAndCountTheirLines() throws {
        let path = try writeFile(
            "loop.heap",
            """
            NEW g.cache list
            REPEAT 100
            NEW item bytes 100
            APPEND g.cache item
            END
            LEN g.cache

            """)
        let result = try heapctl("run", "--profile", "--trace", "-q", path)
        XCTAssertEqual(result.status, 0, result.stderr)
        let output = relative(result.stdout)
        XCTAssertTrue(output.contains("#1: loop.heap:3: size=10.9 KiB, count=100, average=112 B"), output)
        XCTAssertTrue(output.contains("     3     11.4 KiB    +10.9 KiB         100   NEW item bytes 100"), output)
        XCTAssertTrue(output.contains("     2                                         REPEAT 100"), output)
        XCTAssertEqual(try heapctl("LEN", "g.cache").stdout, "100\n")
        XCTAssertEqual(try heapctl("DEL", "g.cache").status, 0)
        for (script, message) in [
            ("REPEAT 0\nEND\n", "REPEAT takes a count"), ("REPEAT 2\nPING\n", "REPEAT without END"),
            ("END\n", "END without REPEAT"), ("REPEAT 2\nREPEAT 3\nEND\nEND\n", "do not nest"),
        ] {
            let bad = try heapctl("run", try writeFile("bad.heap", script))
            XCTAssertEqual(bad.status, 1, script)
            XCTAssertTrue(bad.stderr.contains(message), bad.stderr)
        }
    }

    func testTraceSaysWhyItHasNothingToReport() throws {
        let path = try writeFile("stops.heap", "NEW g.x list\nTRACEMALLOC STOP\n")
        let result = try heapctl("run", "--trace", "-q", path)
        XCTAssertEqual(result.status, 1, "the report the user asked for is missing")
        XCTAssertTrue(result.stderr.contains("tracing was stopped"), result.stderr)
        XCTAssertEqual(try heapctl("DEL", "g.x").status, 0)
        XCTAssertEqual(try heapctl("run", "--plot", "x.png", path).status, 64, "--plot writes SVG only")
    }

    func testProfilePrintsAMemoryProfilerTable() throws {
        let path = try writeFile("leak.heap", script)
        let result = try heapctl("run", "--profile", "-q", path)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(
            relative(result.stdout),
            """

            Filename: leak.heap

            Line #    Mem usage    Increment  Occurrences   Line Contents
            =============================================================
                 1                                         # leak
                 2         32 B        +32 B           1   NEW g.keep list
                 3         32 B         +0 B           1   SCOPE PUSH f
                 4       5044 B      +5012 B           1   NEW payload bytes 5000
                 5       5044 B         +0 B           1   APPEND g.keep payload
                 6       5076 B        +32 B           1   NEW scratch list payload
                 7       5044 B        -32 B           1   SCOPE POP
                 8     24.5 KiB    +19.5 KiB           1   NEW big bytes 20000
                 9     24.5 KiB         +0 B           1   APPEND g.keep big

            Highest memory in use after a line: 24.5 KiB

            """)
        XCTAssertEqual(try heapctl("DEL", "g.keep").status, 0)
    }

    func testPlotDrawsOneStepPerLineAndMarksCollections() throws {
        let path = try writeFile(
            "cycle.heap",
            """
            NEW a list
            NEW b list
            APPEND a b
            APPEND b a
            DEL a b
            GC COLLECT

            """)
        let plot = heapd.directory + "/memory.svg"
        let result = try heapctl("run", "--plot", plot, "-q", path)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("plot written to \(plot)"), result.stderr)
        let shape = try svgShape(heapd.directory + "/memory.svg")
        XCTAssertEqual(shape.steps, 6, "one step per command line after the starting point")
        XCTAssertEqual(shape.collections, 1, "GC COLLECT is marked")
        XCTAssertEqual(shape.title, "heapctl run \(path): traced memory after each line")
    }

    func testRecordSamplesARunningHeapUntilItsDuration() throws {
        let result = try heapctl(
            "record", "--interval", "0.05", "--duration", "0.5", "-o", heapd.directory + "/rec.svg")
        XCTAssertEqual(result.status, 0, result.stderr)
        let samples = Int(result.stdout.split(separator: " ").first ?? "") ?? 0
        XCTAssertGreaterThanOrEqual(samples, 5, result.stdout)
        XCTAssertLessThanOrEqual(samples, 12, result.stdout)
        let shape = try svgShape(heapd.directory + "/rec.svg")
        XCTAssertEqual(shape.steps, samples - 1)
        XCTAssertEqual(try heapctl("record", "--interval", "0").status, 64, "a command-line mistake")
    }

    func testListAgainstGeneratorExampleShowsThePeak() throws {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/list-vs-generator.heap").path
        let result = try heapctl("run", example)
        XCTAssertEqual(result.status, 0, result.stderr)
        // The two GET_TRACED_MEMORY replies: "1) (integer) current" / "2) (integer) peak".
        let peaks = result.stdout.split(separator: "\n").filter { $0.hasPrefix("2) (integer) ") }.compactMap {
            Int($0.dropFirst("2) (integer) ".count))
        }
        guard peaks.count == 2 else { return XCTFail("expected two GET_TRACED_MEMORY replies: \(result.stdout)") }
        XCTAssertGreaterThan(peaks[0], 16_000_000, "a million ints and the list at once")
        XCTAssertLessThan(peaks[1], 1_000, "one int at a time")
        XCTAssertEqual(result.stdout.components(separatedBy: "\"499999500000\"").count - 1, 4)
    }

    /// The leak example leaves g.cache holding nearly the whole heap (500 payloads, under 1 MiB): the
    /// doctor names it, with its share.
    func testDoctorFindsTheLeakExample() throws {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/leak.heap").path
        let result = try heapctl("run", "-q", example)
        XCTAssertEqual(result.status, 0, result.stderr)
        let report = try heapctl("doctor")
        XCTAssertEqual(report.status, 0, report.stderr)
        XCTAssertTrue(report.stdout.contains("Big global: g.cache alone keeps 501 objects ("), report.stdout)
        XCTAssertTrue(report.stdout.contains("% of the heap) alive"), report.stdout)
    }

    /// The generator example's plot: round ticks on both axes, the run's peak marked and named by its
    /// line and code, labels that show the code, the title saying what the plot is (not `--profile`).
    func testPlotHasRoundTicksAndMarksThePeak() throws {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/list-vs-generator.heap").path
        let plot = heapd.directory + "/gen.svg"
        let result = try heapctl("run", "-q", "--plot", plot, example)
        XCTAssertEqual(result.status, 0, result.stderr)
        let svg = try String(contentsOfFile: plot, encoding: .utf8)
        let texts = svg.components(separatedBy: "</text>").compactMap { $0.components(separatedBy: ">").last }
        XCTAssertEqual(texts.first, "heapctl run \(example): traced memory after each line")
        for unit in ["MiB", "s"] {
            let values = texts.compactMap { text -> Double? in
                let parts = text.split(separator: " ")
                return parts.count == 2 && parts[1] == Substring(unit) ? Double(parts[0]) : nil
            }
            XCTAssertGreaterThanOrEqual(values.count, 2, "\(unit) ticks in \(texts)")
            let step = values[1] - values[0]
            let power = pow(10, floor(log10(step)))
            XCTAssertTrue([1.0, 2, 5].contains { abs(step - $0 * power) < 1e-9 }, "a 1-2-5 step: \(values)")
            for (index, value) in values.enumerated() {
                XCTAssertEqual(value, values[0] + Double(index) * step, accuracy: 1e-9, "evenly spaced: \(values)")
            }
        }
        let peak = texts.first { $0.hasPrefix("peak ") } ?? ""
        XCTAssertTrue(peak.hasSuffix(" MiB (line 7: SUM total numbers)") || peak.contains("(line 6: LIST"), peak)
        XCTAssertTrue(texts.contains("line 6: LIST numbers r"), "\(texts)")
    }

    /// `text` with this test's directory taken out of paths, so golden output does not name it.
    private func relative(_ text: String) -> String {
        text.replacingOccurrences(of: heapd.directory + "/", with: "")
    }

    /// The picture's title, the number of steps of its memory curve and of collection markers, read
    /// with Python's XML parser (so the file must be well-formed).
    private func svgShape(_ path: String) throws -> (title: String, steps: Int, collections: Int) {
        let program = """
            import sys, xml.etree.ElementTree as E
            ns = {"s": "http://www.w3.org/2000/svg"}
            root = E.parse(sys.argv[1]).getroot()
            path = [p for p in root.iter("{http://www.w3.org/2000/svg}path") if p.get("class") == "memory"][0]
            group = [g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "collections"][0]
            title = root.find("s:text", ns).text
            print(title); print(path.get("d").count("H")); print(len(list(group)))
            """
        let lines = try PythonOracle.runProgram(program, [path])
        guard lines.count == 3 else {
            XCTFail("unexpected parser output: \(lines)")
            return ("", -1, -1)
        }
        return (lines[0], Int(lines[1]) ?? -1, Int(lines[2]) ?? -1)
    }
}
