import HeapCore
import HeapProtocol

/// Looking at objects and names: refcounts, type, id, repr, variables and frames.
///
/// Every command here accepts an object id (`#17`) as well as a name: introspection is read-only.
enum IntrospectionCommands {
    static let specs: [CommandSpec] = [
        CommandSpec(
            "GETREFCOUNT", arity: 1...1, syntax: "GETREFCOUNT x",
            summary: "sys.getrefcount(x): the count including the temporary reference of the call itself",
            handler: { session, args throws(CommandError) -> Reply in
                // The global read last (a loop over `GETREFCOUNT g.x`): its count is read without a
                // temporary reference, plus the one the call would hold (docs/006).
                if let count = session.refcountOfLastGlobal(args, 0) { return .integer(Int64(count) + 1) }
                // Resolving the argument takes a temporary reference, as passing it to
                // sys.getrefcount does in Python; the reply is read while it is held.
                return try session.with(args, 0, readOnly: true) { ref in
                    .integer(Int64(session.heap.refcount(of: ref)))
                }
            }),
        CommandSpec(
            "REFCOUNT", arity: 1...1, syntax: "REFCOUNT x",
            summary: "the raw reference count: variables, container slots and server references to x",
            handler: { session, args throws(CommandError) in
                try session.with(args, 0, readOnly: true) { ref in
                    let count = session.heap.refcount(of: ref)
                    return .integer(Int64(ref.isImmortal ? count : count - 1))
                }
            }),
        CommandSpec(
            "TYPE", arity: 1...1, syntax: "TYPE x", summary: "type(x).__name__",
            handler: { session, args throws(CommandError) in
                try session.with(args, 0, readOnly: true) { ref in .simple(session.heap.typeName(of: ref)) }
            }),
        CommandSpec(
            "ID", arity: 1...1, syntax: "ID x", summary: "id(x): the object's 64-bit id, usable as #id",
            handler: { session, args throws(CommandError) in
                try session.with(args, 0, readOnly: true) { ref in
                    .integer(Int64(bitPattern: session.heap.id(of: ref).rawValue))
                }
            }),
        CommandSpec(
            "REPR", arity: 1...2, syntax: "REPR x [depth]",
            summary: "repr(x), nested containers cut at depth (default 8)",
            outcome: { session, args throws(CommandError) in
                let depth = args.count == 2 ? Int(try args.integer(1, what: "depth")) : 8
                guard depth >= 0, depth <= 64 else { throw .syntax("depth must be between 0 and 64") }
                return .stepped(reprCommand(try session.resolve(args[0], readOnly: true), depth: depth, in: session))
            }),
        CommandSpec(
            "VARS", arity: 0...1, syntax: "VARS [GLOBALS]",
            summary: "the current frame's variables (or the globals) as name, repr pairs, sorted by name",
            handler: { session, args throws(CommandError) in
                let bindings: [String: ObjectRef]
                if args.count == 1 {
                    guard args[0].uppercased() == "GLOBALS" else { throw .syntax("VARS takes only GLOBALS") }
                    bindings = session.state.globals.snapshot()
                } else {
                    bindings = session.currentBindings
                }
                var reply = BoundedArray(limit: session.maxReply)
                // Each repr is cut well below max-reply: a listing of names, not a dump of their values.
                let reprLimit = min(session.maxReply / 16, 65536)
                for name in bindings.keys.sorted() {
                    let prefix = args.count == 1 ? "g." : ""
                    guard let ref = try? session.resolve(prefix + name) else { continue }
                    defer { session.heap.release(ref, shard: session.shard) }
                    let hint = "a session with this many variables: REPR them one by one"
                    try reply.append(.bulk(prefix + name), hint: hint)
                    try reply.append(
                        .bulk(session.reprText(ref, maxDepth: 1, maxItems: 10, limit: reprLimit)), hint: hint)
                }
                return reply.reply
            }),
        CommandSpec(
            "SCOPE PUSH", arity: 1...1, syntax: "SCOPE PUSH name",
            summary: "enter a function frame: new variables are its locals until SCOPE POP",
            handler: { session, args throws(CommandError) in
                guard Session.isIdentifier(Substring(args[0])) else {
                    throw .syntax("frame name '\(args[0])' is not an identifier")
                }
                try session.pushFrame(args[0])
                return .integer(Int64(session.frameNames.count - 1))
            }),
        CommandSpec(
            "SCOPE POP", arity: 0...0, syntax: "SCOPE POP",
            summary: "leave the current frame, releasing its locals at once; replies how many were released",
            handler: { session, _ throws(CommandError) in .integer(Int64(try session.popFrame())) }),
        CommandSpec(
            "SCOPE LIST", arity: 0...0, syntax: "SCOPE LIST", summary: "the frames, outermost first",
            handler: { session, _ throws(CommandError) in .array(session.frameNames.map { .bulk($0) }) }),
    ]

    /// `REPR`, written in steps (``ReprWriter``): a repr of up to `max-reply` (16 MiB) of nested
    /// containers takes a few hundred milliseconds. Consumes `ref`'s reference.
    private static func reprCommand(_ ref: ObjectRef, depth: Int, in session: Session) -> SteppedCommand {
        let heap = session.heap
        let shard = session.shard
        let maxReply = session.maxReply
        let writer = ReprWriter(heap: heap, ref, maxDepth: depth, maxBytes: maxReply - 32)
        return SteppedCommand.mutator(
            session: session, holding: { [ref] + writer.holding },
            resume: { safepoint throws(CommandError) in
                let written: String??
                do throws(HeapError) {
                    written = try writer.resume(safepoint: safepoint)
                } catch {
                    heap.release(ref, shard: shard)
                    throw CommandError(error)
                }
                guard let written else { return nil }
                let typeName = heap.typeName(of: ref)
                heap.release(ref, shard: shard)
                guard let text = written else {
                    throw .limit(
                        "repr of this \(typeName) would exceed max-reply (\(maxReply) bytes); ask for less (REPR x 1, LEN, GETITEM)"
                    )
                }
                return .bulk(text)
            },
            cancel: {
                writer.cancel()
                heap.release(ref, shard: shard)
            })
    }
}
