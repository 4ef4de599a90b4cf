import HeapCore
import HeapProtocol

/// The views that find leaks: `TYPES` (objgraph's `show_most_common_types`, `jcmd GC.class_histogram`),
/// `GROWTH` (`show_growth`), `CHAIN` (`find_backref_chain`), `GRAPH` (`show_refs`/`show_backrefs`) and
/// `DOCTOR` (Redis's `MEMORY DOCTOR`), and `SIZEOF` (`sys.getsizeof`; with `DEEP`, pympler's `asizeof`, a
/// walk like the others: ``DeepSize``).
///
/// Each walks the heap with the world stopped, in steps of about a millisecond (a ``SteppedCommand``
/// whose steps run in `gate.exclusive`, outside the handler's gate), so neither the other clients nor a
/// collection wait longer than a step; the walks themselves are HeapCore's (``TypeCensus``,
/// ``ChainSearch``, ``ReferenceGraphBuilder``, ``Diagnosis``), which also say what an answer built over
/// several steps means. An object named by the command is resolved now and looked up again by id at
/// every step: once it died, the reply is `-NOOBJ`, never a read of freed memory.
enum DiagnosticCommands {
    static let specs: [CommandSpec] = [
        CommandSpec(
            "TYPES", arity: 0...3, syntax: "TYPES [LIMIT n] [RETAINED]",
            summary:
                "live objects counted by type (instances by class): [[name, count, bytes], ...], most first; RETAINED adds each type's retained bytes (a dominator tree of the reachable heap)",
            outcome: { session, args throws(CommandError) in
                let (rest, retained) = takeRetained(args)
                let limit = try parseLimit(rest)
                let maxReply = session.maxReply
                if retained { return .stepped(retainedCensus(session, limit: limit)) }
                return .stepped(
                    census(session) { census in
                        bounded(
                            census.prefix(limit).lazy.map {
                                .array([.bulk($0.name), .integer(Int64($0.count)), .integer(Int64($0.bytes))])
                            }, limit: maxReply)
                    })
            }),
        CommandSpec(
            "GROWTH", arity: 0...2, syntax: "GROWTH [LIMIT n]",
            summary:
                "types whose count rose above their previous peak since the last GROWTH (server-wide): [[name, count, delta], ...]",
            outcome: { session, args throws(CommandError) in
                let limit = try parseLimit(args)
                let state = session.state
                let maxReply = session.maxReply
                return .stepped(
                    census(session) { census in
                        let grown = state.typeGrowth.withLock { $0.update(with: census) }
                        return bounded(
                            grown.prefix(limit).lazy.map {
                                .array([.bulk($0.name), .integer(Int64($0.count)), .integer(Int64($0.delta))])
                            }, limit: maxReply)
                    })
            }),
        CommandSpec(
            "CHAIN", arity: 1...4, syntax: "CHAIN x [MAX n] [RETAINED]",
            summary:
                "a shortest chain of references from a root (variable, global, gc.garbage) to x, of at most MAX steps (1000): [[how, type, '#id'], ...], nil if none; RETAINED adds what freeing each link would free",
            outcome: { session, args throws(CommandError) in
                let (rest, retained) = takeRetained(args, after: 1)
                let targetID = try objectID(rest[0], in: session)
                let maxSteps = try parseMax(rest, from: 1, default: 1000, range: 1...ChainOptions.maxStepsLimit)
                let state = session.state
                let viewer = session.id
                var search = ChainSearch(to: targetID, maxSteps: maxSteps)
                var found: ReferenceChain?
                let sizes = retained ? RetainedSizeSteps() : nil
                return .stepped(
                    SteppedCommand(session: session) { command in
                        if let chain = found, let sizes {
                            // The chain is found: its links' retained sizes, from the whole reachable heap.
                            guard
                                let computed = sizes.step(
                                    session, command, roots: { state.roots(viewer: viewer, $0) })
                            else { return nil }
                            let retained = computed.retained(of: chain.steps.map(\.id))
                            return .array(
                                zip(chain.steps, retained).map { step, bytes in
                                    .array([
                                        .bulk(step.how), .bulk(step.typeName), .bulk("\(step.id)"),
                                        bytes.map { .integer(Int64($0)) } ?? .null,
                                    ])
                                })
                        }
                        let outcome = session.stoppedStep(command) { stopped, budget in
                            search.advance(
                                in: stopped, external: { state.roots(viewer: viewer, stopped) }, budget: &budget)
                        }
                        switch outcome {
                        case nil: return nil
                        case .gone: return noObject(targetID)
                        case .unreachable: return .null
                        case .chain(let chain):
                            if sizes != nil {
                                found = chain
                                return nil
                            }
                            return .array(
                                chain.steps.map { .array([.bulk($0.how), .bulk($0.typeName), .bulk("\($0.id)")]) })
                        case .tooLong(let length):
                            return CommandError.limit(
                                "the shortest chain to \(targetID) has \(length) steps, more than MAX \(maxSteps) (at most \(ChainOptions.maxStepsLimit))"
                            ).reply
                        case .unstable(let attempts):
                            return CommandError.limit(
                                "the references on the chain to \(targetID) changed during each of \(attempts) walks; ask again"
                            ).reply
                        }
                    })
            }),
        CommandSpec(
            "GRAPH", arity: 1...6, syntax: "GRAPH x [DEPTH n] [BACKREFS] [MAX n]",
            summary:
                "the references around x (referents, or referrers with BACKREFS) to DEPTH levels (3), at most MAX objects (200): [nodes, edges, roots, left out]",
            outcome: { session, args throws(CommandError) in
                let targetID = try objectID(args[0], in: session)
                let options = try GraphOptions(args)
                let state = session.state
                let viewer = session.id
                var builder = ReferenceGraphBuilder(
                    around: targetID, depth: options.depth, referrers: options.backrefs, maxNodes: options.maxNodes)
                return .stepped(
                    SteppedCommand(session: session) { command in
                        let outcome = session.stoppedStep(command) { stopped, budget in
                            builder.advance(
                                in: stopped, external: { state.roots(viewer: viewer, stopped) }, budget: &budget)
                        }
                        switch outcome {
                        case nil: return nil
                        case .gone: return noObject(targetID)
                        case .graph(let graph): return reply(graph)
                        }
                    })
            }),
        CommandSpec(
            "SIZEOF", arity: 1...4, syntax: "SIZEOF x [DEEP [MAX n]]",
            summary:
                "sys.getsizeof(x) in CPython 3.11 beside heapd's bytes: [python, n, heapd, n]; DEEP: over everything reachable from x, each object once (pympler's asizeof), at most MAX objects (1000000): [python, n, heapd, n, objects, n]",
            outcome: { session, args throws(CommandError) in
                guard args.count > 1 else {
                    return .reply(
                        try session.with(args[0], readOnly: true) { ref in reply(session.heap.sizes(of: ref)) })
                }
                guard args[1].uppercased() == "DEEP" else { throw .syntax("expected DEEP, got '\(args[1])'") }
                let targetID = try objectID(args[0], in: session)
                let maxObjects = try parseMax(
                    args, from: 2, default: SizeofOptions.defaultMaxObjects, range: 1...SizeofOptions.maxObjectsLimit)
                var walk = DeepSize(from: targetID, maxObjects: maxObjects)
                return .stepped(
                    SteppedCommand(session: session) { command in
                        let outcome = session.stoppedStep(command) { stopped, budget in
                            walk.advance(in: stopped, budget: &budget)
                        }
                        switch outcome {
                        case nil: return nil
                        case .gone: return noObject(targetID)
                        case .sizes(let sizes): return reply(sizes, deep: true)
                        case .tooMany(let count):
                            return CommandError.limit(
                                "more than MAX \(maxObjects) objects are reachable from \(targetID) (\(count) walked); ask with a bigger MAX (at most \(SizeofOptions.maxObjectsLimit))"
                            ).reply
                        }
                    })
            }),
        CommandSpec(
            "DOCTOR", arity: 0...0, syntax: "DOCTOR",
            summary:
                "a plain-language report: cyclic garbage, uncollectable objects, big globals, growth between snapshots",
            outcome: { session, _ throws(CommandError) in
                let state = session.state
                let viewer = session.id
                var diagnosis = Diagnosis()
                return .stepped(
                    SteppedCommand(session: session) { command in
                        let report = session.stoppedStep(command) { stopped, budget in
                            diagnosis.advance(
                                in: stopped, external: { state.roots(viewer: viewer, stopped) }, budget: &budget)
                        }
                        guard var report else { return nil }
                        // The biggest growth between the last two snapshots taken of the live heap, if it grew.
                        let snapshots = state.snapshots.all().filter { $0.origin == .taken }.suffix(2)
                        if snapshots.count == 2, let old = snapshots.first, let new = snapshots.last,
                            let growth = new.snapshot.growthFinding(since: old.snapshot, numbers: (old.id, new.id))
                        {
                            report.findings.append(growth)
                        }
                        return .bulk(report.text)
                    })
            }),
    ]

    /// `args` without a last word `RETAINED` after the first `fixed` arguments (`CHAIN`'s object), and
    /// whether it was there.
    static func takeRetained(_ args: Arguments, after fixed: Int = 0) -> (Arguments, Bool) {
        guard args.count > fixed, args[args.count - 1].uppercased() == "RETAINED" else { return (args, false) }
        return (args.dropLast(), true)
    }

    /// `TYPES RETAINED`: the census, then the retained sizes (``RetainedSizeSteps``), each in steps;
    /// rows `[name, count, bytes, retained]`.
    static func retainedCensus(_ session: Session, limit: Int) -> SteppedCommand {
        let state = session.state
        let viewer = session.id
        let maxReply = session.maxReply
        var census = TypeCensus()
        var counted = false
        let sizes = RetainedSizeSteps()
        return SteppedCommand(session: session) { command in
            guard counted else {
                counted = session.stoppedStep(command) { stopped, budget in census.advance(in: stopped, budget: &budget)
                }
                return nil
            }
            guard let computed = sizes.step(session, command, roots: { state.roots(viewer: viewer, $0) }) else {
                return nil
            }
            return bounded(
                census.result.prefix(limit).lazy.map {
                    .array([
                        .bulk($0.name), .integer(Int64($0.count)), .integer(Int64($0.bytes)),
                        .integer(Int64(computed.byType[$0.name] ?? 0)),
                    ])
                }, limit: maxReply)
        }
    }

    /// A census in steps of the world stopped, then `finish` with its counts (outside the gate).
    static func census(_ session: Session, finish: @escaping ([TypeCount]) -> Reply) -> SteppedCommand {
        var census = TypeCensus()
        return SteppedCommand(session: session) { command in
            let done = session.stoppedStep(command) { stopped, budget in census.advance(in: stopped, budget: &budget) }
            return done ? finish(census.result) : nil
        }
    }

    enum SizeofOptions {
        /// Objects a DEEP walk visits unless MAX says otherwise: its set of visited ids stays under ~50 MB.
        static let defaultMaxObjects = 1_000_000
        static let maxObjectsLimit = 10_000_000
    }

    /// `SIZEOF`'s reply: a flat array of names and byte counts (Redis's `MEMORY STATS` shape).
    static func reply(_ sizes: ObjectSizes, deep: Bool = false) -> Reply {
        var fields: [Reply] = [
            .bulk("python"), .integer(Int64(sizes.python)), .bulk("heapd"), .integer(Int64(sizes.heapd)),
        ]
        if deep { fields += [.bulk("objects"), .integer(Int64(sizes.objects))] }
        return .array(fields)
    }

    enum ChainOptions {
        static let maxStepsLimit = 100_000
    }

    /// `[MAX n]` from `args[first...]`, within `range`.
    static func parseMax(_ args: Arguments, from first: Int, default value: Int, range: ClosedRange<Int>)
        throws(CommandError) -> Int
    {
        guard args.count > first else { return value }
        guard args.count == first + 2, args[first].uppercased() == "MAX" else { throw .syntax("expected MAX n") }
        let max = Int(try args.integer(first + 1, what: "MAX"))
        guard range.contains(max) else {
            throw .syntax("MAX must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return max
    }

    /// `GRAPH`'s options, in any order after x.
    struct GraphOptions {
        var depth = 3
        var backrefs = false
        var maxNodes = 200

        static let maxDepth = 100
        static let maxNodesLimit = 10_000

        init(_ args: Arguments) throws(CommandError) {
            var index = 1
            while index < args.count {
                switch args[index].uppercased() {
                case "BACKREFS":
                    backrefs = true
                    index += 1
                case "DEPTH", "MAX":
                    guard index + 1 < args.count else { throw .syntax("\(args[index].uppercased()) needs a number") }
                    let value = Int(try args.integer(index + 1, what: args[index].uppercased()))
                    if args[index].uppercased() == "DEPTH" {
                        guard (0...Self.maxDepth).contains(value) else {
                            throw .syntax("DEPTH must be between 0 and \(Self.maxDepth)")
                        }
                        depth = value
                    } else {
                        guard (1...Self.maxNodesLimit).contains(value) else {
                            throw .syntax("MAX must be between 1 and \(Self.maxNodesLimit)")
                        }
                        maxNodes = value
                    }
                    index += 2
                default:
                    throw .syntax("expected DEPTH n, BACKREFS or MAX n, got '\(args[index])'")
                }
            }
        }
    }

    /// An array of `rows`, or `-LIMIT` as soon as it would pass `limit` bytes (a class per instance
    /// makes a census as long as the heap).
    static func bounded(_ rows: some Sequence<Reply>, limit: Int) -> Reply {
        var reply = BoundedArray(limit: limit)
        do {
            for row in rows { try reply.append(row, hint: "ask for the first lines only (LIMIT n)") }
        } catch {
            return error.reply
        }
        return reply.reply
    }

    /// `[LIMIT n]`: how many lines to reply (all when absent).
    static func parseLimit(_ args: Arguments) throws(CommandError) -> Int {
        guard args.count > 0 else { return Int.max }
        guard args.count == 2, args[0].uppercased() == "LIMIT" else { throw .syntax("expected LIMIT n") }
        let limit = try args.integer(1, what: "LIMIT")
        guard limit > 0 else { throw .syntax("LIMIT must be a positive integer") }
        return Int(limit)
    }

    /// The id of the object `name` (a variable, `g.name` or `#id`) names now: `NOVAR`, `NOOBJ` or
    /// `SYNTAX` if none.
    static func objectID(_ name: String, in session: Session) throws(CommandError) -> ObjectID {
        try session.with(name, readOnly: true) { session.heap.id(of: $0) }
    }

    static func noObject(_ id: ObjectID) -> Reply {
        .error(code: HeapError.Code.noObject.rawValue, message: "no live object with id \(id)")
    }

    /// `[nodes, edges, roots, left out]`; a node is `['#id', type, refcount, gen0|gen1|gen2|frozen|untracked,
    /// repr, reachable 1/0]`, an edge `['#from', '#to', label]`, a root `[label, '#id']`.
    static func reply(_ graph: ReferenceGraph) -> Reply {
        .array([
            .array(
                graph.nodes.map {
                    .array([
                        .bulk("\($0.id)"), .bulk($0.typeName), .integer(Int64($0.refcount)), .bulk("\($0.state)"),
                        .bulk($0.repr), .integer($0.reachable ? 1 : 0), $0.length.map { .integer(Int64($0)) } ?? .null,
                        .integer(Int64($0.bytes)),
                    ])
                }),
            .array(graph.edges.map { .array([.bulk("\($0.from)"), .bulk("\($0.to)"), .bulk($0.label)]) }),
            .array(graph.roots.map { .array([.bulk($0.label), .bulk("\($0.to)")]) }),
            .integer(Int64(graph.truncated)),
        ])
    }
}
