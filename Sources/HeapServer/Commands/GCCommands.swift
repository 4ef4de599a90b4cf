import Foundation
import HeapCore
import HeapProtocol
import NIOCore

/// The `gc` module over the socket (`GC …`), weak references (`WEAKREF`, `DEREF`) and finalizers
/// (`FINALIZER`). Commands that need the world stopped or the collector thread return their work as
/// ``CommandOutcome/afterGate(_:)``, which the connection runs outside the heap's gate, off its event loop.
enum GCCommands {
    static let specs: [CommandSpec] = [
        .simple("GC ENABLE", "gc.enable(): turn automatic collection on") { session in
            session.heap.collector.setEnabled(true)
            return .ok
        },
        .simple("GC DISABLE", "gc.disable(): turn automatic collection off (GC COLLECT still works)") { session in
            session.heap.collector.setEnabled(false)
            return .ok
        },
        .simple("GC ISENABLED", "gc.isenabled(): 1 or 0") { session in
            .boolean(session.heap.collector.isEnabled)
        },
        CommandSpec(
            "GC COLLECT", arity: 0...1, syntax: "GC COLLECT [generation]",
            summary:
                "gc.collect(generation=2) on the collector thread; replies the number of unreachable objects found",
            flags: .stopsTheWorld,
            outcome: { session, args throws(CommandError) in
                let generation = args.count == 1 ? Int(try args.integer(0, what: "generation")) : 2
                guard (0...2).contains(generation) else { throw CommandError(.value, "invalid generation") }
                let collector = session.heap.collector
                return .afterGate {
                    do throws(HeapError) {
                        return .integer(Int64(try collector.collect(generation: generation)))
                    } catch {
                        return CommandError(error).reply
                    }
                }
            }),
        CommandSpec(
            "GC WAIT", arity: 0...3, syntax: "GC WAIT [n] [TIMEOUT ms]",
            summary:
                "waits (this client only) until n collections (1), automatic or explicit, ran since the previous command began; replies how many did",
            outcome: { session, args throws(CommandError) in try waitForCollections(session, args) }),
        .simple("GC GET_COUNT", "gc.get_count(): the three generation counts") { session in
            .array(session.heap.collector.counts.map { .integer(Int64($0)) })
        },
        .simple("GC GET_THRESHOLD", "gc.get_threshold(): the three thresholds") { session in
            .array(session.heap.collector.thresholds.map { .integer(Int64($0)) })
        },
        CommandSpec(
            "GC SET_THRESHOLD", arity: 1...3, syntax: "GC SET_THRESHOLD t0 [t1 [t2]]",
            summary: "gc.set_threshold(...); threshold 0 of 0 disables automatic collection",
            handler: { session, args throws(CommandError) in
                var values: [Int] = []
                for index in 0..<args.count { values.append(Int(try args.integer(index, what: "threshold"))) }
                try heapCall { () throws(HeapError) in try session.heap.collector.setThresholds(values) }
                return .ok
            }),
        .simple(
            "GC GET_STATS",
            "gc.get_stats(): per generation collections, collected, uncollectable, and pause count/total/max/p99 (µs)"
        ) { session in
            .array(
                session.heap.collector.statistics.map { stats in
                    // A map in RESP3 (Python's dict per generation); in RESP2 the same name/value pairs.
                    .map([
                        .init("collections", .integer(Int64(stats.collections))),
                        .init("collected", .integer(Int64(stats.collected))),
                        .init("uncollectable", .integer(Int64(stats.uncollectable))),
                        .init("pause_count", .integer(Int64(stats.pauses.count))),
                        .init("pause_total_us", .integer(Int64(stats.pauses.totalNanoseconds / 1000))),
                        .init("pause_max_us", .integer(Int64(stats.pauses.maxNanoseconds / 1000))),
                        .init("pause_p99_us", .integer(Int64(stats.pauses.p99Nanoseconds / 1000))),
                    ])
                })
        },
        CommandSpec(
            "GC GARBAGE", arity: 0...4,
            syntax: "GC GARBAGE [CURSOR c] [COUNT n] | GC GARBAGE CLEAR | GC GARBAGE GETITEM target index",
            summary:
                "gc.garbage in batches: [next cursor (0 = done), ['#id type', ...]]; CLEAR empties it (del gc.garbage[:]); GETITEM binds target = gc.garbage[index]",
            handler: { session, args throws(CommandError) in
                let collector = session.heap.collector
                if args.count == 1 && args[0].uppercased() == "CLEAR" {
                    return .integer(Int64(collector.clearGarbage(shard: session.shard)))
                }
                if args.count == 3 && args[0].uppercased() == "GETITEM" {
                    let index = try args.integer(2, what: "index")
                    let garbage = collector.garbage()
                    // Python's indexing: negative from the end. Checked: no overflow for any Int64.
                    let position = index < 0 ? Int64(garbage.count) + index : index
                    guard position >= 0 && position < Int64(garbage.count) else {
                        for ref in garbage { session.heap.release(ref, shard: session.shard) }
                        throw CommandError(.index, "gc.garbage index out of range")
                    }
                    let chosen = garbage[Int(position)]
                    for (offset, ref) in garbage.enumerated() where offset != Int(position) {
                        session.heap.release(ref, shard: session.shard)
                    }
                    let text = session.reprText(chosen, maxDepth: 2)
                    try session.bind(args[1], to: chosen)
                    return .bulk(text)
                }
                let (cursor, count) = try cursorAndCount(args, from: 0)
                let garbage = collector.garbage()
                defer { for ref in garbage { session.heap.release(ref, shard: session.shard) } }
                // Checked: a cursor past the end (up to Int.max) must not overflow `cursor + count`.
                let end = cursor >= garbage.count ? garbage.count : min(garbage.count, cursor + count)
                let batch = cursor < end ? Array(garbage[cursor..<end]) : []
                return .array([
                    .integer(Int64(end < garbage.count ? end : 0)),
                    .array(batch.map { .bulk(describe($0, session.heap)) }),
                ])
            }),
        CommandSpec(
            "GC GET_OBJECTS", arity: 0...5, syntax: "GC GET_OBJECTS [generation] [CURSOR c] [COUNT n]",
            summary: "gc.get_objects([generation]) in batches: [next cursor (0 = done), ['#id type', ...]]",
            flags: .stopsTheWorld,
            outcome: { session, args throws(CommandError) in
                var generation: Int?
                var first = 0
                if args.count % 2 == 1 {
                    generation = Int(try args.integer(0, what: "generation"))
                    guard (0...2).contains(generation!) else { throw CommandError(.value, "invalid generation") }
                    first = 1
                }
                let (cursor, count) = try cursorAndCount(args, from: first)
                let heap = session.heap
                let wanted = generation
                return .afterGate {
                    let (next, names) = heap.withWorldStopped { stopped -> (Int, [String]) in
                        let (next, refs) = stopped.trackedObjects(
                            generation: wanted, fromSlot: cursor, limit: count)
                        return (next, refs.map { describe($0, heap) })
                    }
                    return .array([.integer(Int64(next)), .array(names.map { .bulk($0) })])
                }
            }),
        CommandSpec(
            "GC GET_REFERRERS", arity: 1...5, syntax: "GC GET_REFERRERS x [CURSOR c] [COUNT n]",
            summary:
                "gc.get_referrers(x): tracked containers referencing x, in batches: [next cursor, ['#id type', ...]]",
            flags: .stopsTheWorld,
            outcome: { session, args throws(CommandError) in
                let target = try session.resolve(args[0], readOnly: true)
                defer { session.heap.release(target, shard: session.shard) }
                let (cursor, count) = try cursorAndCount(args, from: 1)
                let heap = session.heap
                let targetID = heap.id(of: target)
                return .afterGate {
                    let (next, names) = heap.withWorldStopped { stopped -> (Int, [String]) in
                        guard let alive = try? heap.acquire(targetID) else { return (0, []) }
                        defer { heap.release(alive) }
                        let (next, refs) = stopped.referrers(of: alive, fromSlot: cursor, limit: count)
                        return (next, refs.map { describe($0, heap) })
                    }
                    return .array([.integer(Int64(next)), .array(names.map { .bulk($0) })])
                }
            }),
        CommandSpec(
            "GC GET_UNREACHABLE", arity: 0...4, syntax: "GC GET_UNREACHABLE [CURSOR c] [COUNT n]",
            summary:
                "the tracked objects a full collection would find unreachable now, without collecting: [next cursor (0 = done), ['#id type', ...]]",
            flags: .stopsTheWorld,
            outcome: { session, args throws(CommandError) in
                let (cursor, count) = try cursorAndCount(args, from: 0)
                let state = session.state
                let viewer = session.id
                return .afterGate {
                    let (next, names) = state.heap.withWorldStopped { stopped -> (Int, [String]) in
                        let (next, refs) = stopped.unreachable(
                            roots: state.roots(viewer: viewer, stopped), fromSlot: cursor, limit: count)
                        return (next, refs.map { describe($0, state.heap) })
                    }
                    return .array([.integer(Int64(next)), .array(names.map { .bulk($0) })])
                }
            }),
        CommandSpec(
            "GC GET_REFERENTS", arity: 1...1, syntax: "GC GET_REFERENTS x",
            summary: "gc.get_referents(x): the objects x references directly, as '#id type'",
            handler: { session, args throws(CommandError) in
                try session.with(args[0], readOnly: true) { ref throws(CommandError) in
                    // Each referent takes at least 11 bytes on the wire (`$6\r\n#1 int\r\n`), a dict's
                    // items two: refuse a container too big to list before copying its references.
                    let length = (try? session.heap.length(of: ref)) ?? 0
                    let hint = "list it in parts (GETITEM, GC GET_REFERRERS x COUNT n)"
                    guard length.multipliedReportingOverflow(by: 22).partialValue <= session.maxReply else {
                        throw .limit("\(length) referents would exceed max-reply (\(session.maxReply) bytes); \(hint)")
                    }
                    let referents = session.heap.referents(of: ref)
                    defer { for child in referents { session.heap.release(child, shard: session.shard) } }
                    var reply = BoundedArray(limit: session.maxReply)
                    for child in referents { try reply.append(.bulk(describe(child, session.heap)), hint: hint) }
                    return reply.reply
                }
            }),
        CommandSpec(
            "GC IS_TRACKED", arity: 1...1, syntax: "GC IS_TRACKED x", summary: "gc.is_tracked(x): 1 or 0",
            handler: { session, args throws(CommandError) in
                try session.with(args[0], readOnly: true) { ref in .boolean(session.heap.isTracked(ref)) }
            }),
        CommandSpec(
            "GC IS_FINALIZED", arity: 1...1, syntax: "GC IS_FINALIZED x",
            summary: "gc.is_finalized(x): 1 if its finalizer already ran",
            handler: { session, args throws(CommandError) in
                try session.with(args[0], readOnly: true) { ref in .boolean(session.heap.isFinalized(ref)) }
            }),
        stopped("GC FREEZE", "gc.freeze(): move every tracked object to the permanent generation") { stopped in
            stopped.freeze()
        },
        stopped("GC UNFREEZE", "gc.unfreeze(): move the permanent generation back into the oldest") { stopped in
            stopped.unfreeze()
        },
        .simple("GC GET_FREEZE_COUNT", "gc.get_freeze_count()") { session in
            .integer(Int64(session.heap.collector.freezeCount))
        },
        CommandSpec(
            "GC SET_DEBUG", arity: 1...Int.max, syntax: "GC SET_DEBUG flags",
            summary:
                "gc.set_debug(flags): an integer or names STATS COLLECTABLE UNCOLLECTABLE SAVEALL LEAK (or NONE); output goes to the log",
            handler: { session, args throws(CommandError) in
                var flags = 0
                for word in args.strings {
                    if let value = Int(word) {
                        flags |= value
                        continue
                    }
                    switch word.uppercased().replacingOccurrences(of: "DEBUG_", with: "") {
                    case "STATS": flags |= GCDebugFlags.stats
                    case "COLLECTABLE": flags |= GCDebugFlags.collectable
                    case "UNCOLLECTABLE": flags |= GCDebugFlags.uncollectable
                    case "SAVEALL": flags |= GCDebugFlags.saveAll
                    case "LEAK": flags |= GCDebugFlags.leak
                    case "NONE": break
                    default: throw .syntax("unknown debug flag '\(word)'")
                    }
                }
                session.heap.collector.setDebugFlags(flags)
                return .ok
            }),
        .simple("GC GET_DEBUG", "gc.get_debug(): the debug flags as an integer") { session in
            .integer(Int64(session.heap.collector.debugFlags))
        },
        .simple(
            "GC SUBSCRIBE",
            "gc.callbacks: this connection receives collection, finalizer and weakref events as pushed arrays",
            flags: .allowedWhileSubscribed
        ) { session in
            session.subscribed = true
            session.state.subscribe(session)
            return .array([.bulk("subscribe"), .bulk("gc"), .integer(1)])
        },
        .simple("GC UNSUBSCRIBE", "leave subscribed mode", flags: .allowedWhileSubscribed) { session in
            session.subscribed = false
            session.state.unsubscribe(session)
            return .array([.bulk("unsubscribe"), .bulk("gc"), .integer(0)])
        },
        .simple(
            "GC HEARTBEAT",
            "the collector thread's health: [ms since its last beat, ms inside the current collection (0 idle), collections]"
        ) { session in
            let collector = session.heap.collector
            let (sinceBeat, busy) = collector.heartbeat
            let busyFor = busy == 0 ? 0 : (CycleCollector.now() - busy) / 1_000_000
            return .array([
                .integer(Int64(sinceBeat / 1_000_000)), .integer(Int64(busyFor)),
                .integer(Int64(collector.collectionCount)),
            ])
        },
        CommandSpec(
            "GC DEBUG_STALL", arity: 1...1, syntax: "GC DEBUG_STALL seconds",
            summary: "test only (heapd --enable-test-commands): the next collection holds the world stopped that long",
            flags: .testOnly,
            handler: { session, args throws(CommandError) in
                guard let seconds = Double(args[0]), seconds >= 0, seconds <= 3600 else {
                    throw .syntax("seconds must be a number from 0 to 3600")
                }
                session.heap.collector.stall(seconds: seconds)
                let collector = session.heap.collector
                // Start the stalled collection now, on the collector thread, without waiting for it.
                Thread.detachNewThread { _ = try? collector.collect(generation: 0) }
                return .ok
            }),
        CommandSpec(
            "WEAKREF", arity: 2...2, syntax: "WEAKREF target x",
            summary: "target = weakref.ref(x): a weak reference, which does not keep x alive",
            handler: { session, args throws(CommandError) in
                let weak = try session.with(args[1]) { ref throws(CommandError) in
                    try heapCall { () throws(HeapError) in try session.heap.makeWeakref(to: ref, shard: session.shard) }
                }
                try session.bind(args[0], to: weak)
                return .ok
            }),
        CommandSpec(
            "DEREF", arity: 2...2, syntax: "DEREF target weakref",
            summary: "target = weakref(): the referent, or None once it died; replies its repr",
            handler: { session, args throws(CommandError) in
                let target = try session.with(args[1]) { ref throws(CommandError) in
                    try heapCall { () throws(HeapError) in try session.heap.weakrefTarget(ref) }
                }
                let value = target ?? .none
                let text = session.reprText(value, maxDepth: 2)
                try session.bind(args[0], to: value)
                return .bulk(text)
            }),
        CommandSpec(
            "FINALIZER", arity: 1...2, syntax: "FINALIZER x [LEGACY]",
            summary:
                "gives x a finalizer: __del__ (runs once, PEP 442), or with LEGACY a tp_del that makes its cycles uncollectable",
            handler: { session, args throws(CommandError) in
                var legacy = false
                if args.count == 2 {
                    guard args[1].uppercased() == "LEGACY" else { throw .syntax("expected LEGACY") }
                    legacy = true
                }
                return try session.with(args[0]) { ref throws(CommandError) in
                    try heapCall { () throws(HeapError) in try session.heap.setFinalizer(ref, legacy: legacy) }
                    return .ok
                }
            }),
    ]

    /// The longest `GC WAIT` may ask for: a day.
    static let maxWaitMilliseconds = 86_400_000
    /// The most collections one `GC WAIT` may wait for.
    static let maxWaitCollections = 1_000_000

    /// `GC WAIT [n] [TIMEOUT ms]`: completes once the n-th collection to start after the previous
    /// command began has completed (see protocol.md). The reply comes later, through a promise on the
    /// session's event loop (``CommandOutcome/later(_:)``): the collector thread completes it, or the timeout,
    /// or the client's hang-up, whichever is first; the others then find it completed.
    private static func waitForCollections(_ session: Session, _ args: Arguments) throws(CommandError)
        -> CommandOutcome
    {
        var count = 1
        var timeout = 0
        var index = 0
        if args.count % 2 == 1 {
            count = Int(try args.integer(0, what: "n"))
            index = 1
        }
        while index < args.count {
            guard args[index].uppercased() == "TIMEOUT" else {
                throw .syntax("expected TIMEOUT ms, got '\(args[index])'")
            }
            timeout = Int(try args.integer(index + 1, what: "TIMEOUT"))
            index += 2
        }
        guard (1...maxWaitCollections).contains(count) else {
            throw CommandError(.value, "n must be between 1 and \(maxWaitCollections)")
        }
        guard (0...maxWaitMilliseconds).contains(timeout) else {
            throw CommandError(.value, "TIMEOUT must be between 0 (none) and \(maxWaitMilliseconds) ms")
        }
        guard let eventLoop = session.channel?.eventLoop else {
            throw CommandError(.state, "GC WAIT needs a connection to reply later")
        }
        let collector = session.heap.collector
        // Both small and non-negative: no overflow.
        let baseline = session.collectionsAtPreviousCommandStart
        let promise = eventLoop.makePromise(of: Reply.self)
        let registration = collector.whenCollectionsComplete(baseline + count) { completed in
            guard let completed else {
                promise.succeed(.error(.cancelled, "heapd is shutting down"))
                return
            }
            promise.succeed(.integer(Int64(completed - baseline)))
        }
        switch registration {
        case .reached(let completed):
            promise.succeed(.ok)  // never sent: a promise must not be dropped unfulfilled
            return .reply(.integer(Int64(completed - baseline)))
        case .stopping:
            promise.succeed(.ok)
            throw CommandError(.cancelled, "heapd is shutting down")
        case .waiting(let id):
            let (count, timeout) = (count, timeout)
            if timeout > 0 {
                let task = eventLoop.scheduleTask(in: .milliseconds(Int64(timeout))) {
                    collector.cancelWait(id)
                    let done = max(0, collector.collectionCount - baseline)
                    promise.succeed(
                        .error(.timeout, "\(done) of \(count) collections completed within \(timeout) ms"))
                }
                promise.futureResult.whenComplete { _ in task.cancel() }
            }
            return .later(
                AwaitedReply(
                    future: promise.futureResult,
                    cancel: {
                        collector.cancelWait(id)
                        promise.succeed(.error(.cancelled, "the client went away"))
                    }))
        }
    }

    /// '#17 list' (or the class name of an instance).
    static func describe(_ ref: ObjectRef, _ heap: Heap) -> String {
        "\(heap.id(of: ref)) \(heap.typeName(of: ref))"
    }

    static func cursorAndCount(_ args: Arguments, from first: Int) throws(CommandError) -> (Int, Int) {
        var cursor = 0
        var count = 1000
        var index = first
        while index < args.count {
            guard index + 1 < args.count else { throw .syntax("expected CURSOR c or COUNT n") }
            let value = Int(try args.integer(index + 1))
            switch args[index].uppercased() {
            case "CURSOR": cursor = value
            case "COUNT": count = value
            default: throw .syntax("expected CURSOR or COUNT, got '\(args[index])'")
            }
            index += 2
        }
        guard cursor >= 0, (1...100_000).contains(count) else {
            throw .syntax("CURSOR must be >= 0 and COUNT between 1 and 100000")
        }
        return (cursor, count)
    }

    private static func stopped(
        _ name: String, _ summary: String, _ body: @escaping @Sendable (borrowing StoppedHeap) -> Void
    )
        -> CommandSpec
    {
        CommandSpec(name, arity: 0...0, syntax: name, summary: summary, flags: .stopsTheWorld) {
            session, _ throws(CommandError) -> CommandOutcome in
            let heap = session.heap
            return .afterGate {
                heap.withWorldStopped { stopped in body(stopped) }
                return .ok
            }
        }
    }
}
