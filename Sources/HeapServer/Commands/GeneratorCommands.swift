import HeapCore
import HeapProtocol

/// Generators: `NEW … gen`, `NEXT`, `LIST` and `SUM`, to compare a generator's peak memory with a list's.
///
/// Consuming commands take references (never through an `#id`: advancing a generator mutates it), and
/// check their target name before consuming anything, so a bad name loses no item. `LIST` and `SUM`
/// may run for as long as a range is long: they run as a ``SteppedCommand`` (a millisecond at a time,
/// the event loop served in between) and pass a ``CommandSafepoint``, which lets stops of the world
/// through and stops them past `command-time-limit` or when their client hangs up.
enum GeneratorCommands {
    static let specs: [CommandSpec] = [
        CommandSpec(
            "NEXT", arity: 1...2, syntax: "NEXT generator [target]",
            summary:
                "next(generator): the next item, made only now; binds target (+OK) or replies repr(item); STOP when exhausted",
            handler: { session, args throws(CommandError) in
                if args.count == 2 { try checkTarget(args[1]) }
                let heap = session.heap
                let item = try session.with(args[0]) { generator throws(CommandError) in
                    try heapCall { () throws(HeapError) in try heap.next(generator, shard: session.shard) }
                }
                guard let item else { throw .exhausted }
                if args.count == 2 {
                    try session.bind(args[1], to: item)
                    return .ok
                }
                defer { heap.release(item, shard: session.shard) }
                return .bulk(session.reprText(item, maxDepth: 2))
            }),
        CommandSpec(
            "LIST", arity: 2...2, syntax: "LIST target iterable",
            summary:
                "target = list(iterable): a generator's remaining items, or a copy of a list, tuple, set, dict's keys or str's characters; replies its length",
            outcome: { session, args throws(CommandError) in
                try checkTarget(args[0])
                let heap = session.heap
                let target = args[0]
                return .stepped(
                    try consume(args[1], for: .list, in: session) { list throws(CommandError) in
                        let length = (try? heap.length(of: list)) ?? 0
                        try session.bind(target, to: list)
                        return .integer(Int64(length))
                    })
            }),
        CommandSpec(
            "SUM", arity: 2...2, syntax: "SUM target iterable",
            summary:
                "target = sum(iterable) over ints, floats and bools, one item alive at a time; replies repr(target)",
            outcome: { session, args throws(CommandError) in
                try checkTarget(args[0])
                let heap = session.heap
                let target = args[0]
                return .stepped(
                    try consume(args[1], for: .sum, in: session) { total throws(CommandError) in
                        let text = heap.repr(total)
                        try session.bind(target, to: total)
                        return .bulk(text)
                    })
            }),
    ]

    /// `NEW target gen range N | range START STOP [STEP] | iter x`: the generator for `NEW`'s values
    /// after the type name, as a new reference.
    static func make(_ session: Session, _ values: [String]) throws(CommandError) -> ObjectRef {
        let heap = session.heap
        let shard = session.shard
        guard let form = values.first?.lowercased() else { throw .arity("NEW") }
        switch form {
        case "range":
            guard (2...4).contains(values.count) else { throw .arity("NEW") }
            var bounds: [Int64] = []
            for text in values.dropFirst() {
                guard let value = Int64(text) else {
                    throw .syntax("range argument '\(text)' is not a 64-bit integer")
                }
                bounds.append(value)
            }
            let (start, stop) = bounds.count == 1 ? (0, bounds[0]) : (bounds[0], bounds[1])
            let step = bounds.count == 3 ? bounds[2] : 1
            return try heapCall { () throws(HeapError) in
                try heap.makeRange(start: start, stop: stop, step: step, shard: shard)
            }
        case "iter":
            guard values.count == 2 else { throw .arity("NEW") }
            return try session.with(values[1]) { source throws(CommandError) in
                try heapCall { () throws(HeapError) in try heap.makeIterator(over: source, shard: shard) }
            }
        default:
            throw .syntax("gen takes 'range N', 'range START STOP [STEP]' or 'iter x', not '\(values[0])'")
        }
    }

    /// `list(x)` or `sum(x)` of the object `name` names, as a ``SteppedCommand``: each step consumes
    /// items inside the heap's gate for one slice, reaching a ``CommandSafepoint`` every 1024 items;
    /// between steps what the consumer holds (the iterator, the list so far) is published as
    /// ``Session/heldByCommand``. `finish` takes the result's reference (it binds it).
    private static func consume(
        _ name: String, for purpose: IterableConsumer.Purpose, in session: Session,
        finish: @escaping (ObjectRef) throws(CommandError) -> Reply
    ) throws(CommandError) -> SteppedCommand {
        let heap = session.heap
        let consumer = try session.with(name) { iterable throws(CommandError) in
            try heapCall { () throws(HeapError) in
                try IterableConsumer(heap: heap, consuming: iterable, for: purpose, shard: session.shard)
            }
        }
        return SteppedCommand.mutator(
            session: session, holding: { consumer.holding },
            resume: { safepoint throws(CommandError) in
                guard let result = try heapCall({ () throws(HeapError) in try consumer.resume(safepoint: safepoint) })
                else { return nil }
                return try finish(result)
            },
            cancel: { consumer.cancel() })
    }

    /// Rejects a name that cannot be bound before anything is consumed.
    private static func checkTarget(_ target: String) throws(CommandError) {
        if case .id = try Session.parseName(target) {
            throw .syntax("cannot assign to an object id '\(target)'")
        }
    }
}

extension CommandError {
    /// `next()` on an exhausted generator (Python's `StopIteration`).
    static var exhausted: Self { Self(.stop, "generator exhausted") }
}
