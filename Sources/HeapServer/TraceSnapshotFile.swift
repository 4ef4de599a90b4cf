import Foundation
import HeapCore

/// The file `TRACEMALLOC DUMP` writes and `TRACEMALLOC LOAD` reads: JSON that Python reads into a
/// `tracemalloc.Snapshot` in a few lines (protocol.md shows them).
///
/// ```
/// {"format": "heapd-tracemalloc-snapshot", "version": 1, "traceback_limit": 1,
///  "traces": [[48, [["script.heap", 3]]], ...]}
/// ```
/// Each trace is its size and its frames, most recent first, as `_tracemalloc` gives them to Python.
enum TraceSnapshotFile {
    static let format = "heapd-tracemalloc-snapshot"
    /// The largest block size a file may claim (256 TiB): more than any heap holds, far from overflow.
    static let maxTraceSize = 1 << 48

    static func encode(_ snapshot: TraceSnapshot) throws(CommandError) -> Data {
        let traces: [[Any]] = snapshot.traces.map { trace in
            [trace.size, trace.traceback.frames.map { [$0.filename, $0.lineno] as [Any] }]
        }
        let object: [String: Any] = [
            "format": format, "version": 1, "traceback_limit": snapshot.tracebackLimit, "traces": traces,
        ]
        do {
            return try JSONSerialization.data(withJSONObject: object)
        } catch {
            throw CommandError("IO", "cannot encode the snapshot: \(error)")
        }
    }

    static func decode(_ data: Data, path: String) throws(CommandError) -> TraceSnapshot {
        func bad(_ why: String) -> CommandError { CommandError("VALUE", "\(path) is not a heapd snapshot: \(why)") }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw bad("not a JSON object")
        }
        guard object["format"] as? String == format, object["version"] as? Int == 1 else {
            throw bad("unknown format or version")
        }
        guard let limit = object["traceback_limit"] as? Int, limit >= 1, limit <= AllocationTracer.maxFrames,
            let rawTraces = object["traces"] as? [Any]
        else { throw bad("no traceback_limit in [1; \(AllocationTracer.maxFrames)] or no traces") }
        var traces: [TraceSnapshot.Trace] = []
        traces.reserveCapacity(rawTraces.count)
        for raw in rawTraces {
            guard let pair = raw as? [Any], pair.count == 2, let size = pair[0] as? Int, size >= 0,
                size <= maxTraceSize, let rawFrames = pair[1] as? [Any], !rawFrames.isEmpty, rawFrames.count <= limit
            else {
                throw bad("a trace is not [size, frames] with a size up to 2^48 and 1 to traceback_limit frames")
            }
            var frames: [TraceFrame] = []
            for rawFrame in rawFrames {
                guard let frame = rawFrame as? [Any], frame.count == 2, let file = frame[0] as? String,
                    let line = frame[1] as? Int, line >= 0
                else { throw bad("a frame is not [filename, lineno] with a line from 0") }
                frames.append(TraceFrame(filename: file, lineno: line))
            }
            traces.append(TraceSnapshot.Trace(size: size, traceback: Traceback(frames: frames)))
        }
        return TraceSnapshot(traces: traces, tracebackLimit: limit)
    }
}
