import Foundation
import HeapClient
import HeapFormatting
import HeapProtocol

/// What `heapctl run --trace`, `--profile` and `--plot` measure around a script, with heapd's
/// tracemalloc: Python's "top 10 lines" recipe, memory_profiler's line-by-line table and `mprof plot`.
///
/// Tracing is started for the script when it is off (and stopped after it), with `frames` frames; when
/// another client already traces, the script uses that tracing as it is. Each line of the script is
/// attributed to `FILE:LINE` by the runner (`AT`), so statistics by line name the script's lines.
final class ScriptInstruments {
    /// One measurement after a command line ran.
    struct Sample {
        var line: Int
        var seconds: Double
        var current: Int
        var collections: Int
    }

    let scriptName: String
    let trace: Bool
    let profile: Bool
    let plotPath: String?
    let frames: Int
    let top: Int

    private var startedTracing = false
    private var start = 0.0
    private(set) var baseline: Sample?
    private(set) var samples: [Sample] = []
    private(set) var lines: [Int: String] = [:]

    init(scriptName: String, trace: Bool, profile: Bool, plotPath: String?, frames: Int, top: Int) {
        self.scriptName = scriptName
        self.trace = trace
        self.profile = profile
        self.plotPath = plotPath
        self.frames = frames
        self.top = top
    }

    private var wantsSamples: Bool { profile || plotPath != nil }

    func begin(_ connection: HeapConnection) throws(ClientError) {
        if try connection.call(["TRACEMALLOC", "IS_TRACING"]) == .integer(0) {
            _ = try connection.call(["TRACEMALLOC", "START", String(frames)])
            startedTracing = true
        }
        start = TopView.monotonicSeconds()
        if wantsSamples { baseline = try measure(line: 0, connection) }
    }

    func noteLine(_ number: Int, _ bytes: [UInt8]) {
        if profile { lines[number] = String(decoding: bytes, as: UTF8.self) }
    }

    func sample(after line: Int, _ connection: HeapConnection) throws(ClientError) {
        if wantsSamples { samples.append(try measure(line: line, connection)) }
    }

    /// Prints the reports and writes the plot; stops tracing if heapctl started it. False when a
    /// report could not be made (said on stderr).
    func finish(_ connection: HeapConnection) throws(ClientError) -> Bool {
        defer {
            if startedTracing { _ = try? connection.call(["TRACEMALLOC", "STOP"]) }
        }
        var complete = true
        if trace {
            switch try topLines(connection) {
            case .success(let lines): Console.write("\n" + lines.joined(separator: "\n") + "\n")
            case .failure(let failure):
                Console.error(failure.message)
                complete = false
            }
        }
        if profile { Console.write("\n" + profileTable().joined(separator: "\n") + "\n") }
        if let plotPath { complete = PlotFile.write(makePlot(), to: plotPath) && complete }
        return complete
    }

    // MARK: Measuring

    private func measure(line: Int, _ connection: HeapConnection) throws(ClientError) -> Sample {
        let replies = try connection.pipeline([["TRACEMALLOC", "GET_TRACED_MEMORY"], ["INFO", "gc"]])
        var current = 0
        if case .array(let pair) = replies[0], case .integer(let value) = pair.first { current = Int(value) }
        var collections = 0
        if case .bulk(let bytes) = replies[1] {
            for row in String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline)
            where row.hasPrefix("gc_collections_total:") {
                collections = Int(row.dropFirst("gc_collections_total:".count)) ?? 0
            }
        }
        return Sample(
            line: line, seconds: TopView.monotonicSeconds() - start, current: current, collections: collections)
    }

    // MARK: --trace

    /// Why `--trace` could not report, already worded for the user.
    struct ReportFailure: Error {
        let message: String
    }

    /// Python's "display the top 10 lines" recipe over the traces of this script's lines.
    private func topLines(_ connection: HeapConnection) throws(ClientError) -> Result<[String], ReportFailure> {
        let taken = try connection.call(["TRACEMALLOC", "TAKE_SNAPSHOT"])
        guard case .integer(let whole) = taken else {
            if case .error("STATE", _) = taken {
                return .failure(
                    ReportFailure(
                        message: "--trace: tracing was stopped (by the script or another client)"
                            + " before the end, so there is nothing to report"))
            }
            return .failure(
                ReportFailure(message: "--trace: TRACEMALLOC TAKE_SNAPSHOT: \(ReplyFormatter.human(taken))"))
        }
        defer { _ = try? connection.call(["TRACEMALLOC", "DROP_SNAPSHOT", String(whole)]) }
        let filter = try connection.call([
            "TRACEMALLOC", "FILTER", String(whole), "INCLUDE", Self.literalPattern(scriptName), "ALL_FRAMES",
        ])
        guard case .integer(let mine) = filter else {
            return .failure(ReportFailure(message: "--trace: TRACEMALLOC FILTER: \(ReplyFormatter.human(filter))"))
        }
        defer { _ = try? connection.call(["TRACEMALLOC", "DROP_SNAPSHOT", String(mine)]) }
        // The figures once (RAW), printed with HeapFormatting's copy of Python's formatting.
        let replies = try connection.pipeline([
            ["TRACEMALLOC", "STATISTICS", String(mine), "lineno", "RAW"], ["TRACEMALLOC", "GET_TRACED_MEMORY"],
        ])
        guard case .array(let raw) = replies[0] else {
            return .failure(ReportFailure(message: "--trace: \(ReplyFormatter.human(replies[0]))"))
        }
        var out = ["Top \(top) lines of \(scriptName) by memory still allocated (tracemalloc)"]
        var total = 0
        var other = (count: 0, size: 0)
        for (index, entry) in raw.enumerated() {
            guard case .array(let fields) = entry, fields.count == 3, case .array(let names) = fields[0],
                case .integer(let size) = fields[1], case .integer(let count) = fields[2]
            else { continue }
            let frames = names.compactMap { $0.text.flatMap(SourcePosition.init(parsing:)) }
            guard !frames.isEmpty else { continue }
            total += Int(size)
            guard index < top else {
                other = (other.count + 1, other.size + Int(size))
                continue
            }
            // RAW lists frames oldest first; a statistic is named by its oldest frame, as Python's
            // `str(Traceback)` is.
            let stat = statisticLine(position: frames[0].description, size: Int(size), count: Int(count))
            out.append("#\(index + 1): \(stat)")
            if let source = lines[frames[frames.count - 1].line] ?? sourceLine(frames[frames.count - 1].line) {
                out.append("    " + source.trimmingCharacters(in: .whitespaces))
            }
        }
        if raw.isEmpty { out.append("(no allocation of the script is still alive)") }
        // The recipe's closing lines, in its words and format.
        if other.count > 0 { out.append("\(other.count) other: \(Self.kibibytes(other.size))") }
        out.append("Total allocated size: \(Self.kibibytes(total))")
        if case .array(let pair) = replies[1], pair.count == 2, case .integer(let current) = pair[0],
            case .integer(let peak) = pair[1]
        {
            out.append(
                "Traced memory: current \(formatSize(Double(current), sign: false)), "
                    + "peak \(formatSize(Double(peak), sign: false))")
        }
        return .success(out)
    }

    /// `"%.1f KiB" % (size / 1024)`, as the recipe prints totals.
    static func kibibytes(_ size: Int) -> String {
        String(format: "%.1f KiB", Double(size) / 1024)
    }

    /// The script's line `number`, read again from the file (for `--trace` without `--profile`).
    private func sourceLine(_ number: Int) -> String? {
        guard scriptName != "<stdin>", let text = try? String(contentsOfFile: scriptName, encoding: .utf8) else {
            return nil
        }
        let all = text.split(separator: "\n", omittingEmptySubsequences: false)
        return number >= 1 && number <= all.count ? String(all[number - 1]) : nil
    }

    /// `name` as an fnmatch pattern that matches only itself (`*`, `?` and `[` in brackets).
    static func literalPattern(_ name: String) -> String {
        var pattern = ""
        for character in name {
            pattern += "*?[".contains(character) ? "[\(character)]" : String(character)
        }
        return pattern
    }

    // MARK: --profile

    /// memory_profiler's table: one row per script line, memory in use after it, its increment, how
    /// many times it ran, the line.
    func profileTable() -> [String] {
        var out = ["Filename: \(scriptName)", ""]
        out.append(Self.row("Line #", "Mem usage", "Increment", "Occurrences", "Line Contents"))
        out.append(String(repeating: "=", count: 61))
        var previous = baseline?.current ?? 0
        var byLine: [Int: (current: Int, increment: Int, count: Int)] = [:]
        for sample in samples {
            let old = byLine[sample.line]
            // As memory_profiler does: the highest memory after any run of the line, increments summed.
            byLine[sample.line] = (
                max(old?.current ?? 0, sample.current), (old?.increment ?? 0) + sample.current - previous,
                (old?.count ?? 0) + 1
            )
            previous = sample.current
        }
        let lastLine = max(lines.keys.max() ?? 0, byLine.keys.max() ?? 0)
        guard lastLine > 0 else { return out }
        for number in 1...lastLine {
            let text = lines[number] ?? ""
            if let figures = byLine[number] {
                out.append(
                    Self.row(
                        String(number), formatSize(Double(figures.current), sign: false),
                        formatSize(Double(figures.increment), sign: true), String(figures.count), text))
            } else {
                out.append(Self.row(String(number), "", "", "", text))
            }
        }
        if let peak = samples.map(\.current).max() {
            out.append("")
            out.append("Highest memory in use after a line: \(formatSize(Double(peak), sign: false))")
        }
        return out
    }

    /// memory_profiler's layout: `{:>6} {:>12} {:>12}  {:>10}   {:<}`.
    static func row(_ line: String, _ usage: String, _ increment: String, _ count: String, _ text: String) -> String {
        func right(_ value: String, _ width: Int) -> String {
            String(repeating: " ", count: max(0, width - value.count)) + value
        }
        let row = "\(right(line, 6)) \(right(usage, 12)) \(right(increment, 12))  \(right(count, 10))   \(text)"
        return String(row.reversed().drop(while: { $0 == " " }).reversed())
    }

    // MARK: --plot

    private func makePlot() -> MemoryPlot {
        var plot = MemoryPlot(title: "heapctl run --profile \(scriptName)", yLabel: "traced memory")
        if let baseline { plot.points.append((baseline.seconds, baseline.current)) }
        var collections = baseline?.collections ?? 0
        for sample in samples {
            plot.points.append((sample.seconds, sample.current))
            if sample.collections > collections {
                plot.collections.append((sample.seconds, sample.collections - collections))
            }
            collections = sample.collections
        }
        // The lines that moved memory most in all their runs are labelled, at their last run.
        var previous = baseline?.current ?? 0
        var byLine: [Int: (change: Int, seconds: Double, current: Int)] = [:]
        for sample in samples {
            let change = (byLine[sample.line]?.change ?? 0) + sample.current - previous
            byLine[sample.line] = (change, sample.seconds, sample.current)
            previous = sample.current
        }
        for (line, step) in byLine.sorted(by: { abs($0.value.change) > abs($1.value.change) }).prefix(8)
        where step.change != 0 {
            plot.marks.append((step.seconds, step.current, "line \(line)"))
        }
        return plot
    }
}

/// Writes a plot as an SVG file, saying where on stderr (stdout carries the transcript and reports).
enum PlotFile {
    /// Writes `plot`; false (said on stderr) when the file cannot be written.
    static func write(_ plot: MemoryPlot, to path: String) -> Bool {
        do {
            try Data(plot.svg.utf8).write(to: URL(fileURLWithPath: path))
            Console.error("plot written to \(path)")
            return true
        } catch {
            Console.error("cannot write \(path): \(error.localizedDescription)")
            return false
        }
    }
}
