import HeapCore

/// The file `TRACEMALLOC DUMP` writes and `TRACEMALLOC LOAD` reads: JSON that Python reads into a
/// `tracemalloc.Snapshot` in a few lines (protocol.md shows them).
///
/// ```
/// {"format": "heapd-tracemalloc-snapshot", "version": 1, "traceback_limit": 1,
///  "traces": [[48, [["script.heap", 3]]], ...]}
/// ```
/// Each trace is its size and its frames, most recent first, as `_tracemalloc` gives them to Python.
///
/// Both directions stream: the writer emits chunks of about ``chunkSize`` bytes as it goes (each
/// distinct traceback is encoded once and its bytes reused), and the reader parses chunks as they
/// are read, keeping only the traces (repeated tracebacks share one copy). A snapshot of 10 million
/// traces costs its own memory plus a chunk either way, where a JSON object tree cost gigabytes.
enum TraceSnapshotFile {
    static let format = "heapd-tracemalloc-snapshot"
    /// The largest block size a file may claim (256 TiB): more than any heap holds, far from overflow.
    static let maxTraceSize = 1 << 48
    /// Bytes written or read at a time.
    static let chunkSize = 1 << 16
    /// The longest filename a file may hold (PATH_MAX).
    static let maxFilenameBytes = 4096

    // MARK: Writing

    /// Encodes `snapshot`, handing `emit` one chunk at a time (the last one may be short).
    static func encode<E: Error>(_ snapshot: TraceSnapshot, emit: ([UInt8]) throws(E) -> Void) throws(E) {
        var chunk: [UInt8] = []
        chunk.reserveCapacity(chunkSize + 1024)
        chunk.append(
            contentsOf:
                #"{"format": "\#(format)", "version": 1, "traceback_limit": \#(snapshot.tracebackLimit), "traces": ["#
                .utf8)
        var encodedFrames: [Traceback: [UInt8]] = [:]
        for (index, trace) in snapshot.traces.enumerated() {
            if index > 0 { chunk.append(contentsOf: ", ".utf8) }
            chunk.append(UInt8(ascii: "["))
            chunk.append(contentsOf: String(trace.size).utf8)
            chunk.append(contentsOf: ", ".utf8)
            if let frames = encodedFrames[trace.traceback] {
                chunk.append(contentsOf: frames)
            } else {
                let frames = encode(trace.traceback)
                encodedFrames[trace.traceback] = frames
                chunk.append(contentsOf: frames)
            }
            chunk.append(UInt8(ascii: "]"))
            if chunk.count >= chunkSize {
                try emit(chunk)
                chunk.removeAll(keepingCapacity: true)
            }
        }
        chunk.append(contentsOf: "]}\n".utf8)
        try emit(chunk)
    }

    /// `[["file", line], ...]`.
    private static func encode(_ traceback: Traceback) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "[")]
        for (index, frame) in traceback.frames.enumerated() {
            if index > 0 { out.append(contentsOf: ", ".utf8) }
            out.append(UInt8(ascii: "["))
            appendJSONString(frame.filename, to: &out)
            out.append(contentsOf: ", ".utf8)
            out.append(contentsOf: String(frame.lineno).utf8)
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped, the rest as UTF-8.
    static func appendJSONString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                out.append(UInt8(ascii: "\\"))
                out.append(byte)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: "\\u00".utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 15)])
            default:
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    // MARK: Reading

    /// Parses a snapshot from the chunks `refill` gives (nil at the end); `path` names the file in
    /// errors. Keys may come in any order and unknown keys are skipped; what cannot come from a heap is
    /// refused with `VALUE`.
    static func decode(path: String, refill: @escaping () -> [UInt8]?) throws(CommandError) -> TraceSnapshot {
        func bad(_ why: String) -> CommandError { CommandError(.value, "\(path) is not a heapd snapshot: \(why)") }
        var reader = JSONPullReader(maxStringBytes: maxFilenameBytes, refill: refill)
        var format: String?
        var version: Int?
        var limit: Int?
        var traces: [TraceSnapshot.Trace]?
        var mostFrames = 0
        do {
            try reader.expect(UInt8(ascii: "{"))
            var first = true
            while let key = try reader.nextKey(first: first) {
                first = false
                switch key {
                case "format": format = reader.peekToken() == UInt8(ascii: "\"") ? try reader.string() : nil
                case "version": version = try reader.integer()
                case "traceback_limit": limit = try reader.integer()
                case "traces":
                    var decoded: [TraceSnapshot.Trace] = []
                    try readTraces(&reader, into: &decoded, mostFrames: &mostFrames, bad: bad)
                    traces = decoded
                default: try reader.skipValue()
                }
            }
            guard reader.atEnd() else { throw bad("text after the snapshot object") }
        } catch let error as JSONPullReader.Malformed {
            throw bad(error.message)
        } catch let error as CommandError {
            throw error
        } catch {
            throw bad("\(error)")
        }
        guard format == Self.format, version == 1 else { throw bad("unknown format or version") }
        guard let limit, limit >= 1, limit <= AllocationTracer.maxFrames, let traces else {
            throw bad("no traceback_limit in [1; \(AllocationTracer.maxFrames)] or no traces")
        }
        // Checked at the end: `traces` may come before `traceback_limit` (JSON keys have no order).
        guard mostFrames <= limit else {
            throw bad("a trace is not [size, frames] with a size up to 2^48 and 1 to traceback_limit frames")
        }
        return TraceSnapshot(traces: traces, tracebackLimit: limit)
    }

    /// `[[size, [[file, line], ...]], ...]`, interning tracebacks so equal ones share their frames.
    private static func readTraces(
        _ reader: inout JSONPullReader, into traces: inout [TraceSnapshot.Trace], mostFrames: inout Int,
        bad: (String) -> CommandError
    ) throws {
        let shape = "a trace is not [size, frames] with a size up to 2^48 and 1 to traceback_limit frames"
        var interned = Set<Traceback>()
        var filenames = Set<String>()
        try reader.expect(UInt8(ascii: "["))
        var first = true
        while try reader.nextElement(first: first) {
            first = false
            try reader.expect(UInt8(ascii: "["))
            let size = try reader.integer()
            guard size >= 0, size <= maxTraceSize else { throw bad(shape) }
            try reader.expect(UInt8(ascii: ","))
            try reader.expect(UInt8(ascii: "["))
            var frames: [TraceFrame] = []
            var firstFrame = true
            while try reader.nextElement(first: firstFrame) {
                firstFrame = false
                guard frames.count < AllocationTracer.maxFrames else { throw bad(shape) }
                try reader.expect(UInt8(ascii: "["))
                let file = filenames.insert(try reader.string()).memberAfterInsert
                try reader.expect(UInt8(ascii: ","))
                let line = try reader.integer()
                guard line >= 0 else { throw bad("a frame is not [filename, lineno] with a line from 0") }
                try reader.expect(UInt8(ascii: "]"))
                frames.append(TraceFrame(filename: file, lineno: line))
            }
            try reader.expect(UInt8(ascii: "]"))
            guard !frames.isEmpty else { throw bad(shape) }
            mostFrames = max(mostFrames, frames.count)
            let traceback = interned.insert(Traceback(frames: frames)).memberAfterInsert
            traces.append(TraceSnapshot.Trace(size: size, traceback: traceback))
        }
    }
}
