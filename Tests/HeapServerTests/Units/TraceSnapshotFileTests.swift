import HeapCore
import HeapdTesting
import XCTest

@testable import HeapServer

/// The snapshot file's streaming writer and reader, in memory, under every chunking.
final class TraceSnapshotFileTests: XCTestCase {
    /// `bytes` handed out `size` bytes at a time.
    private func chunks(_ bytes: [UInt8], size: Int) -> () -> [UInt8]? {
        var offset = 0
        return {
            guard offset < bytes.count else { return nil }
            defer { offset += size }
            return Array(bytes[offset..<min(offset + size, bytes.count)])
        }
    }

    private func encoded(_ snapshot: TraceSnapshot) -> [UInt8] {
        var out: [UInt8] = []
        TraceSnapshotFile.encode(snapshot) { (chunk: [UInt8]) in out += chunk }
        return out
    }

    private var sample: TraceSnapshot {
        let odd = Traceback(frames: [
            TraceFrame(filename: "quote\"back\\slash\nnew\u{1}ctl é.py", lineno: 0),
            TraceFrame(filename: "main.heap", lineno: 12),
        ])
        let plain = Traceback(frames: [TraceFrame(filename: "a.heap", lineno: 3)])
        return TraceSnapshot(
            traces: [
                .init(size: 48, traceback: plain), .init(size: 1 << 40, traceback: odd),
                .init(size: 0, traceback: plain),
            ], tracebackLimit: 2)
    }

    func testRoundTripUnderEveryChunkSize() throws {
        let bytes = encoded(sample)
        for size in [1, 2, 3, 7, 64, bytes.count] {
            let back = try TraceSnapshotFile.decode(path: "t", refill: chunks(bytes, size: size))
            XCTAssertEqual(back.traces, sample.traces, "chunks of \(size)")
            XCTAssertEqual(back.tracebackLimit, 2)
        }
    }

    func testTheWriterEmitsBoundedChunksAndPythonReadsTheText() throws {
        let plain = Traceback(frames: [TraceFrame(filename: "a.heap", lineno: 3)])
        let big = TraceSnapshot(
            traces: Array(repeating: .init(size: 16, traceback: plain), count: 50_000), tracebackLimit: 1)
        var sizes: [Int] = []
        var text: [UInt8] = []
        TraceSnapshotFile.encode(big) { (chunk: [UInt8]) in
            sizes.append(chunk.count)
            text += chunk
        }
        XCTAssertGreaterThan(sizes.count, 10)
        XCTAssertLessThan(sizes.max() ?? 0, TraceSnapshotFile.chunkSize + 1024)
        let object = try JSONSerialization.jsonObject(with: Data(text)) as? [String: Any]
        XCTAssertEqual((object?["traces"] as? [Any])?.count, 50_000)
        XCTAssertEqual(object?["format"] as? String, TraceSnapshotFile.format)
    }

    func testKeysInAnyOrderUnknownKeysSkippedAndEscapesDecoded() throws {
        let text = #"""
            { "extra": {"nested": [1, 2.5e3, true, null, "x\"y"]}, "traces": [[8, [["d\u00e9j\u00e0\ud83d\ude00.py", 1]]]],
              "traceback_limit": 1, "version": 1, "format": "heapd-tracemalloc-snapshot" }
            """#
        let snapshot = try TraceSnapshotFile.decode(path: "t", refill: chunks(Array(text.utf8), size: 5))
        XCTAssertEqual(snapshot.traces.first?.traceback.frames.first?.filename, "déjà😀.py")
        XCTAssertEqual(snapshot.traces.first?.size, 8)
    }

    func testImpossibleOrMalformedFilesAreValueErrors() {
        let head = #"{"format": "heapd-tracemalloc-snapshot", "version": 1, "traceback_limit": 1, "traces": "#
        for text in [
            head + #"[[281474976710657, [["a", 1]]]]}"#,  // over 2^48
            head + #"[[99999999999999999999, [["a", 1]]]]}"#,  // over 64 bits
            head + #"[[1.5, [["a", 1]]]]}"#,
            head + #"[[16, []]]}"#,
            head + #"[[16, [["a", 1], ["b", 2]]]]}"#,  // more frames than the limit
            head + #"[[16, [["a", -1]]]]}"#,
            head + #"[[16, [["a", 1]]]]} trailing"#,
            head + #"[[16, [["a", 1]]]"#,  // cut short
            head + "[[16, [[\"" + String(repeating: "f", count: 5000) + "\", 1]]]]}",  // a filename too long
            #"{"format": "pickle", "version": 1, "traceback_limit": 1, "traces": []}"#,
            #"{"traces": [], "version": 1, "format": "heapd-tracemalloc-snapshot"}"#,
            "not json", "", "[]",
            head + String(repeating: "[", count: 100),
        ] {
            XCTAssertThrowsError(try TraceSnapshotFile.decode(path: "t", refill: chunks(Array(text.utf8), size: 3))) {
                XCTAssertEqual(($0 as? CommandError)?.code, "VALUE", "\($0) for \(text.prefix(80))")
            }
        }
    }

    func testSkippingIsBoundedInDepth() {
        let deep = #"{"x": "# + String(repeating: "[", count: 1000) + String(repeating: "]", count: 1000) + "}"
        var reader = JSONPullReader(refill: chunks(Array(deep.utf8), size: 64))
        XCTAssertThrowsError(
            try {
                try reader.expect(UInt8(ascii: "{"))
                _ = try reader.nextKey(first: true)
                try reader.skipValue()
            }())
    }

    func testIntegersAtTheEdgesOf64Bits() throws {
        for (text, value) in [
            ("9223372036854775807", Int.max), ("-9223372036854775808", Int.min), ("0", 0), ("-5", -5),
        ] {
            var reader = JSONPullReader(refill: chunks(Array(text.utf8), size: 2))
            XCTAssertEqual(try reader.integer(), value)
        }
        for text in ["9223372036854775808", "-9223372036854775809", "-", "1e3"] {
            var reader = JSONPullReader(refill: chunks(Array(text.utf8), size: 2))
            XCTAssertThrowsError(try reader.integer(), text)
        }
    }
}
