import HeapFormatting
import XCTest

/// The textual forms shared by heapd and heapctl, against the figures Python and the docs print.
final class HeapFormattingTests: XCTestCase {
    func testByteCountsForPeople() {
        XCTAssertEqual(formatBytes(0), "0 B")
        XCTAssertEqual(formatBytes(1023), "1023 B")
        XCTAssertEqual(formatBytes(1024), "1.0 KiB")
        XCTAssertEqual(formatBytes(1536), "1.5 KiB")
        XCTAssertEqual(formatBytes(64 << 20), "64.0 MiB")
        XCTAssertEqual(formatBytes(1 << 50), "1024.0 TiB")
    }

    func testStatisticLinesAsTracemallocPrintsThem() {
        // >>> str(Statistic(Traceback(((("a.heap", 12),))), 1258291, 1000))
        XCTAssertEqual(
            statisticLine(position: "a.heap:12", size: 1_258_291, count: 1000),
            "a.heap:12: size=1229 KiB, count=1000, average=1258 B")
        XCTAssertEqual(statisticLine(position: "a.heap:1", size: 0, count: 0), "a.heap:1: size=0 B, count=0")
        XCTAssertEqual(
            statisticDiffLine(position: "b.heap:3", size: 2048, sizeDiff: -1024, count: 2, countDiff: -1),
            "b.heap:3: size=2048 B (-1024 B), count=2 (-1), average=1024 B")
    }

    func testSourcePositionsSplitAtTheLastColon() {
        XCTAssertEqual(SourcePosition(parsing: "c:/x.heap:7"), SourcePosition(file: "c:/x.heap", line: 7))
        XCTAssertEqual(SourcePosition(parsing: "x.heap:0")?.description, "x.heap:0")
        XCTAssertNil(SourcePosition(parsing: ":7"), "no file")
        XCTAssertNil(SourcePosition(parsing: "x.heap:-1"), "a negative line")
        XCTAssertNil(SourcePosition(parsing: "x.heap"), "no line")
    }

    /// The atoms' reprs, against what CPython 3.12 prints for the same values (the cut of a long
    /// bytes is heapd's own: a graph label, not a literal).
    func testPythonLiteralsAsReprWritesThem() {
        XCTAssertEqual(PythonLiteral.string("it's"), "\"it's\"")
        XCTAssertEqual(PythonLiteral.string("say \"hi\" it's"), "'say \"hi\" it\\'s'")
        XCTAssertEqual(PythonLiteral.string("a\tb\u{01}\u{7f}"), "'a\\tb\\x01\\x7f'")
        XCTAssertEqual(PythonLiteral.string("é"), "'é'")
        XCTAssertEqual(PythonLiteral.float(1e22), "1e+22")
        XCTAssertEqual(PythonLiteral.float(0.1), "0.1")
        XCTAssertEqual(PythonLiteral.float(2), "2.0")
        XCTAssertEqual(PythonLiteral.float(-.infinity), "-inf")
        XCTAssertEqual(PythonLiteral.float(.nan), "nan")
        XCTAssertEqual(PythonLiteral.bytes(Array("ab\\\n".utf8) + [0, 255], limit: 64), "b'ab\\\\\\n\\x00\\xff'")
        XCTAssertEqual(PythonLiteral.bytes([UInt8](repeating: 65, count: 70), limit: 3), "b'AAA'... (70 bytes)")
        // CPython's quote choice: double quotes for a single quote alone, else escaped single quotes.
        XCTAssertEqual(PythonLiteral.bytes(Array("it's".utf8), limit: 64), #"b"it's""#)
        XCTAssertEqual(PythonLiteral.bytes(Array(#"it's "q""#.utf8), limit: 64), #"b'it\'s "q"'"#)
    }
}
