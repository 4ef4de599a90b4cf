import Foundation
import HeapCore
import HeapProtocol

/// Python's `tracemalloc` module over the socket, plus `AT`, which says where a session is.
///
/// Tracing state is server-wide, as tracemalloc's is process-wide; snapshots are numbered handles
/// (``TraceSnapshotStore``). Statistics reply the lines Python prints (`str(stat)`), or with `RAW`
/// the figures themselves.
enum TracemallocCommands {
    static let specs: [CommandSpec] = [
        CommandSpec(
            "AT", arity: 0...Int.max, syntax: "AT [file:line [command...]]",
            summary: "where the session is, for tracebacks: alone sets it; as a prefix sets it and runs the command",
            handler: { session, _ throws(CommandError) in
                // CommandTable handles AT before lookup; this entry gives HELP its text.
                .bulk(session.currentPosition.description)
            }),
        CommandSpec(
            "TRACEMALLOC START", arity: 0...1, syntax: "TRACEMALLOC START [nframe]",
            summary: "tracemalloc.start(nframe=1): trace allocations with up to nframe frames (no-op when tracing)",
            handler: { session, args throws(CommandError) in
                let frames = args.count == 1 ? try args.integer(0, what: "nframe") : 1
                try heapCall { () throws(HeapError) in
                    try session.heap.tracer.start(frames: Int(clamping: frames))
                }
                return .ok
            }),
        .simple("TRACEMALLOC STOP", "tracemalloc.stop(): stop tracing and forget every trace") { session in
            session.heap.tracer.stop()
            return .ok
        },
        .simple("TRACEMALLOC IS_TRACING", "tracemalloc.is_tracing(): 1 or 0") { session in
            .boolean(session.heap.tracer.isTracing)
        },
        .simple("TRACEMALLOC GET_TRACEBACK_LIMIT", "tracemalloc.get_traceback_limit()") { session in
            .integer(Int64(session.heap.tracer.tracebackLimit))
        },
        .simple("TRACEMALLOC GET_TRACED_MEMORY", "tracemalloc.get_traced_memory(): current and peak bytes") {
            session in
            let (current, peak) = session.heap.tracer.tracedMemory()
            return .array([.integer(Int64(current)), .integer(Int64(peak))])
        },
        .simple("TRACEMALLOC RESET_PEAK", "tracemalloc.reset_peak(): the peak becomes the current size") { session in
            session.heap.tracer.resetPeak()
            return .ok
        },
        .simple("TRACEMALLOC CLEAR_TRACES", "tracemalloc.clear_traces(): forget the traces, keep tracing") {
            session in
            session.heap.tracer.clearTraces()
            return .ok
        },
        .simple("TRACEMALLOC GET_TRACEMALLOC_MEMORY", "tracemalloc.get_tracemalloc_memory(): bytes of the tables") {
            session in
            .integer(Int64(session.heap.tracer.overheadBytes()))
        },
        CommandSpec(
            "TRACEMALLOC GET_OBJECT_TRACEBACK", arity: 1...1, syntax: "TRACEMALLOC GET_OBJECT_TRACEBACK x",
            summary: "tracemalloc.get_object_traceback(x): file:line frames, oldest first; nil if not traced",
            handler: { session, args throws(CommandError) in
                try session.with(args[0], readOnly: true) { ref in
                    guard let traceback = session.heap.allocationTraceback(of: ref) else { return .nullArray }
                    return .array(traceback.oldestFirst.map { .bulk($0.description) })
                }
            }),
        CommandSpec(
            "TRACEMALLOC TAKE_SNAPSHOT", arity: 0...0, syntax: "TRACEMALLOC TAKE_SNAPSHOT",
            summary: "tracemalloc.take_snapshot(): replies the new snapshot's number",
            handler: { session, _ throws(CommandError) in
                let snapshot = try heapCall { () throws(HeapError) in try session.heap.tracer.takeSnapshot() }
                return .integer(Int64(try session.state.snapshots.add(snapshot, origin: .taken)))
            }),
        .simple("TRACEMALLOC SNAPSHOTS", "the stored snapshots: number, traces, bytes, traceback limit, origin") {
            session in
            .array(
                session.state.snapshots.all().map { entry in
                    .array([
                        .integer(Int64(entry.id)), .integer(Int64(entry.snapshot.traces.count)),
                        .integer(Int64(entry.snapshot.size)), .integer(Int64(entry.snapshot.tracebackLimit)),
                        .bulk(entry.origin.rawValue),
                    ])
                })
        },
        CommandSpec(
            "TRACEMALLOC DROP_SNAPSHOT", arity: 1...1, syntax: "TRACEMALLOC DROP_SNAPSHOT snapshot",
            summary: "forget a snapshot",
            handler: { session, args throws(CommandError) in
                try session.state.snapshots.drop(try snapshotNumber(args, 0))
                return .ok
            }),
        CommandSpec(
            "TRACEMALLOC STATISTICS", arity: 2...6,
            syntax: "TRACEMALLOC STATISTICS snapshot filename|lineno|traceback [CUMULATIVE] [LIMIT n] [RAW]",
            summary: "Snapshot.statistics(key_type, cumulative): largest first, as Python prints them",
            handler: { session, args throws(CommandError) in
                let snapshot = try session.state.snapshots.snapshot(try snapshotNumber(args, 0))
                let options = try StatisticsOptions(args, from: 1)
                let stats = try heapCall { () throws(HeapError) in
                    try snapshot.statistics(by: options.key, cumulative: options.cumulative)
                }
                var reply = BoundedArray(limit: session.maxReply)
                for stat in stats.prefix(options.limit) {
                    try reply.append(
                        options.raw
                            ? .array([frames(stat.traceback), .integer(Int64(stat.size)), .integer(Int64(stat.count))])
                            : .bulk(stat.description), hint: "ask for the biggest only (LIMIT n)")
                }
                return reply.reply
            }),
        CommandSpec(
            "TRACEMALLOC COMPARE", arity: 3...7,
            syntax: "TRACEMALLOC COMPARE new old filename|lineno|traceback [CUMULATIVE] [LIMIT n] [RAW]",
            summary: "new.compare_to(old, key_type, cumulative): the biggest changes first, with +/- differences",
            handler: { session, args throws(CommandError) in
                let new = try session.state.snapshots.snapshot(try snapshotNumber(args, 0))
                let old = try session.state.snapshots.snapshot(try snapshotNumber(args, 1))
                let options = try StatisticsOptions(args, from: 2)
                let diffs = try heapCall { () throws(HeapError) in
                    try new.compared(to: old, by: options.key, cumulative: options.cumulative)
                }
                var reply = BoundedArray(limit: session.maxReply)
                for diff in diffs.prefix(options.limit) {
                    try reply.append(
                        options.raw
                            ? .array([
                                frames(diff.traceback), .integer(Int64(diff.size)), .integer(Int64(diff.sizeDiff)),
                                .integer(Int64(diff.count)), .integer(Int64(diff.countDiff)),
                            ])
                            : .bulk(diff.description), hint: "ask for the biggest changes only (LIMIT n)")
                }
                return reply.reply
            }),
        CommandSpec(
            "TRACEMALLOC FILTER", arity: 1...Int.max,
            syntax: "TRACEMALLOC FILTER snapshot [INCLUDE|EXCLUDE pattern [LINE n] [ALL_FRAMES]]...",
            summary: "Snapshot.filter_traces(filters): a new snapshot; replies its number",
            handler: { session, args throws(CommandError) in
                let snapshot = try session.state.snapshots.snapshot(try snapshotNumber(args, 0))
                let filters = try parseFilters(Array(args.strings.dropFirst()))
                return .integer(
                    Int64(try session.state.snapshots.add(snapshot.filtered(by: filters), origin: .filtered)))
            }),
        CommandSpec(
            "TRACEMALLOC DUMP", arity: 2...2, syntax: "TRACEMALLOC DUMP snapshot name",
            summary: "Snapshot.dump(): write the snapshot as JSON to heapd's snapshot directory; replies the path",
            flags: .blocksOnFiles,
            outcome: { session, args throws(CommandError) in
                let snapshot = try session.state.snapshots.snapshot(try snapshotNumber(args, 0))
                let directory = session.state.configuration.snapshotDirectory
                _ = try SnapshotDirectory.path(of: args[1], in: directory)
                let name = args[1]
                return outsideTheGate { () throws(CommandError) in
                    // Streamed: the file is written a chunk at a time, never held whole.
                    .bulk(
                        try SnapshotDirectory.write(named: name, in: directory) { emit throws(CommandError) in
                            try TraceSnapshotFile.encode(snapshot, emit: emit)
                        })
                }
            }),
        CommandSpec(
            "TRACEMALLOC LOAD", arity: 1...1, syntax: "TRACEMALLOC LOAD name",
            summary: "Snapshot.load(): read a dumped snapshot from the snapshot directory; replies its number",
            flags: .blocksOnFiles,
            outcome: { session, args throws(CommandError) in
                let directory = session.state.configuration.snapshotDirectory
                _ = try SnapshotDirectory.path(of: args[0], in: directory)
                let (name, store) = (args[0], session.state.snapshots)
                return outsideTheGate { () throws(CommandError) in
                    // Streamed: parsed a chunk at a time, so a load costs the snapshot, not a tree of the file.
                    let (fd, path) = try SnapshotDirectory.openForReading(named: name, in: directory)
                    let file = SnapshotFileStream.Reader(fd: fd, path: path)
                    let snapshot: TraceSnapshot
                    do throws(CommandError) {
                        snapshot = try TraceSnapshotFile.decode(path: name, refill: file.next)
                    } catch {
                        // A read error cuts the text short: report it, not the truncation it caused.
                        throw file.failure ?? error
                    }
                    if let failure = file.failure { throw failure }
                    return .integer(Int64(try store.add(snapshot, origin: .loaded)))
                }
            }),
    ]

    /// Runs `body` after the command, outside the heap's gate and off the event loop
    /// (``CommandOutcome/afterGate(_:)``): file I/O that touches no object must not keep a stop of the
    /// world, nor the loop's other clients, waiting while it writes or parses megabytes.
    static func outsideTheGate(_ body: @escaping @Sendable () throws(CommandError) -> Reply) -> CommandOutcome {
        .afterGate {
            do throws(CommandError) {
                return try body()
            } catch {
                return error.reply
            }
        }
    }

    /// The options after a statistics command's snapshot numbers.
    struct StatisticsOptions {
        var key: TraceSnapshot.Key
        var cumulative = false
        var limit = Int.max
        var raw = false

        init(_ args: Arguments, from start: Int) throws(CommandError) {
            guard let key = TraceSnapshot.Key(rawValue: args[start].lowercased()) else {
                throw .syntax("unknown key_type '\(args[start])' (filename, lineno or traceback)")
            }
            self.key = key
            var index = start + 1
            while index < args.count {
                switch args[index].uppercased() {
                case "CUMULATIVE": cumulative = true
                case "RAW": raw = true
                case "LIMIT":
                    guard index + 1 < args.count, let n = Int(args[index + 1]), n >= 0 else {
                        throw .syntax("LIMIT takes a count from 0")
                    }
                    limit = n
                    index += 1
                default: throw .syntax("unknown option '\(args[index])' (CUMULATIVE, LIMIT n, RAW)")
                }
                index += 1
            }
        }
    }

    static func parseFilters(_ words: [String]) throws(CommandError) -> [TraceFilter] {
        var filters: [TraceFilter] = []
        var index = 0
        while index < words.count {
            let kind = words[index].uppercased()
            guard kind == "INCLUDE" || kind == "EXCLUDE" else {
                throw .syntax("expected INCLUDE or EXCLUDE, got '\(words[index])'")
            }
            guard index + 1 < words.count else { throw .syntax("\(kind) needs a file name pattern") }
            var filter = TraceFilter(inclusive: kind == "INCLUDE", filenamePattern: words[index + 1])
            index += 2
            while index < words.count {
                let option = words[index].uppercased()
                if option == "ALL_FRAMES" {
                    filter.allFrames = true
                    index += 1
                } else if option == "LINE" {
                    guard index + 1 < words.count, let line = Int(words[index + 1]) else {
                        throw .syntax("LINE takes a line number")
                    }
                    filter.lineno = line
                    index += 2
                } else {
                    break
                }
            }
            filters.append(filter)
        }
        return filters
    }

    static func snapshotNumber(_ args: Arguments, _ index: Int) throws(CommandError) -> Int {
        Int(clamping: try args.integer(index, what: "snapshot number"))
    }

    static func frames(_ traceback: Traceback) -> Reply {
        .array(traceback.oldestFirst.map { .bulk($0.description) })
    }

}
