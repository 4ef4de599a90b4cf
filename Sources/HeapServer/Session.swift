import HeapCore
import HeapProtocol
import NIOCore

/// One client connection, like one Python thread: a stack of frames whose variables hold references.
///
/// Confined to the connection's event loop; commands run on it one at a time, inside the heap's gate.
final class Session {
    let id: Int
    /// The allocator shard this session allocates from.
    let shard: Int
    let state: ServerState
    /// Who is connected and their role (read before each command).
    let client: ClientInfo
    /// The server's heap (`state.heap`), held here: a command that names an object reads it, and
    /// through `state` each read was a retain and a release.
    let heap: Heap
    /// The heap's collector and allocation tracer, which ``CommandTable`` reads for every command: held
    /// here, so that reading them is a load (through `state.heap` each cost a retain and a release).
    let collector: CycleCollector
    let tracer: AllocationTracer
    /// The connection, for pushed events in subscribed mode.
    var channel: Channel?
    /// Frames, innermost last; frame 0 is the session's top level and is never popped.
    private(set) var frames: [(name: String, bindings: Bindings)] = [("<session>", Bindings())]
    /// Commands run. This and the other per-command fields marked `@exclusivity(unchecked)` are read or
    /// written by every request, only on the session's event loop and never passed `inout` across a
    /// call that touches them again; their dynamic exclusivity checks (a thread-local access set per
    /// access) were about 5% of heapd's samples under redis-benchmark PING.
    @exclusivity(unchecked)
    var commandsProcessed = 0
    /// Where the session says it is (`AT file:line`); nil until it says so.
    var position: TraceFrame?
    /// The position at each `SCOPE PUSH`, outermost first: the call sites of the frames above the top
    /// level, which make up the rest of an allocation's traceback. `stated` is the `AT` position in
    /// force then (nil for the implicit `<client N>:C`), which `SCOPE POP` restores.
    private(set) var callSites: [(frame: TraceFrame, stated: TraceFrame?)] = []
    /// ``CycleCollector/collectionsStarted`` when the current command began, and when the one before it
    /// began (before the first command: when the client connected): `GC WAIT` counts collections from
    /// the start of the command before it, so it cannot miss the collection that command's allocations
    /// triggered.
    @exclusivity(unchecked)
    var collectionsAtCommandStart: Int
    @exclusivity(unchecked)
    var collectionsAtPreviousCommandStart = 0
    /// Set by `GC SUBSCRIBE`: the connection receives collector events and, in RESP2, accepts only a few
    /// commands (in RESP3 the events are push messages a client tells from replies, so it may run any).
    @exclusivity(unchecked)
    var subscribed = false
    /// The reply encoding this connection asked for with `HELLO` (RESP2 until then).
    @exclusivity(unchecked)
    var protocolVersion: ProtocolVersion = .resp2
    /// The client's socket, for a long command to notice a hang-up (``CommandSafepoint``).
    var peer: ClientSocket?
    /// What a long command holds outside the heap while it waits at a safepoint for a stop of the
    /// world to end, so the verifier counts it; empty otherwise.
    var heldByCommand: [ObjectRef] = []
    /// Where this session last found globals (``GlobalNamespace``: reads without the namespace's lock).
    @exclusivity(unchecked)
    var globalCache = GlobalCache()
    /// The command word of this session's last one-word command, byte for byte as the client sent it,
    /// and its index in ``CommandTable/all``: a client repeating a command (a pipelined loop) has it
    /// matched by one compare per byte instead of hashed and compared case-insensitively
    /// (``CommandTable/execute(words:in:)``).
    @exclusivity(unchecked)
    var lastCommandWord = PackedName()
    @exclusivity(unchecked)
    var lastCommandIndex = 0

    init(id: Int, shard: Int, state: ServerState, client: ClientInfo) {
        self.id = id
        self.shard = shard
        self.state = state
        self.client = client
        heap = state.heap
        collector = state.heap.collector
        tracer = state.heap.tracer
        collectionsAtCommandStart = collector.collectionsStarted
    }

    // MARK: Names

    /// A parsed name: a local variable, a global (`g.name`) or an object id (`#17`, read-only).
    enum Name {
        case local(String)
        case global(String)
        case id(ObjectID)
    }

    static func isIdentifier(_ text: Substring) -> Bool {
        guard let first = text.utf8.first, first == UInt8(ascii: "_") || (first | 0x20) >= 97 && (first | 0x20) <= 122
        else { return false }
        return text.utf8.allSatisfy {
            $0 == UInt8(ascii: "_") || ($0 | 0x20) >= 97 && ($0 | 0x20) <= 122 || $0 >= 48 && $0 <= 57
        }
    }

    static func parseName(_ text: String) throws(CommandError) -> Name {
        // The prefixes by their bytes: `hasPrefix` compares by Unicode rules, a cost on every name a
        // command resolves.
        var bytes = text.utf8.makeIterator()
        let first = bytes.next()
        if first == UInt8(ascii: "#") {
            guard let raw = UInt64(Substring(text.utf8.dropFirst())) else {
                throw .syntax("invalid object id '\(text)'")
            }
            return .id(ObjectID(rawValue: raw))
        }
        if first == UInt8(ascii: "g"), bytes.next() == UInt8(ascii: ".") {
            // Cut by bytes, not Characters: "g." followed by a combining mark is no global name.
            let name = Substring(text.utf8.dropFirst(2))
            guard isIdentifier(name) else { throw .syntax("invalid global name '\(text)'") }
            return .global(String(name))
        }
        guard isIdentifier(Substring(text)) else { throw .syntax("invalid variable name '\(text)'") }
        return .local(text)
    }

    /// Resolves a name to a new reference (the caller releases it). `#id` is allowed only when
    /// `readOnly`: a session takes references only to what its variables or the globals reach.
    func resolve(_ text: String, readOnly: Bool = false) throws(CommandError) -> ObjectRef {
        switch try Self.parseName(text) {
        case .local(let name):
            guard let ref = frames[frames.count - 1].bindings.lookup(name) else { throw .noVariable(name) }
            heap.retain(ref)
            return ref
        case .global(let name):
            guard let ref = state.globals.retained(name, heap: heap, cache: &globalCache) else {
                throw .noVariable("g." + name)
            }
            return ref
        case .id(let id):
            guard readOnly else {
                throw .denied("\(text): an object id gives read-only access; reach the object through a variable")
            }
            return try heapCall { () throws(HeapError) in try heap.acquire(id) }
        }
    }

    /// ``resolve(_:readOnly:)`` of argument `index` of `arguments`. The global this session found last
    /// (`GETREFCOUNT g.x` in a loop) is recognised from the argument's bytes where they arrived: no
    /// string is made for it, nor its characters checked a second time; any other name goes the way of
    /// ``resolve(_:readOnly:)``.
    func resolve(_ arguments: Arguments, _ index: Int, readOnly: Bool = false) throws(CommandError) -> ObjectRef {
        let cached = arguments.withBytes(index) { bytes -> ObjectRef? in
            guard bytes.count > 2, bytes[0] == UInt8(ascii: "g"), bytes[1] == UInt8(ascii: ".") else { return nil }
            return state.globals.retainedLast(
                UnsafeRawBufferPointer(rebasing: bytes[2...]), heap: heap, cache: &globalCache)
        }
        if let cached { return cached }
        return try resolve(arguments[index], readOnly: readOnly)
    }

    /// The reference count of argument `index` of `arguments` when it names the global this session
    /// found last, read without taking a reference (``GlobalNamespace/refcountOfLast(_:heap:cache:)``);
    /// nil otherwise, for the caller to resolve it the ordinary way.
    func refcountOfLastGlobal(_ arguments: Arguments, _ index: Int) -> Int? {
        arguments.withBytes(index) { bytes -> Int? in
            guard bytes.count > 2, bytes[0] == UInt8(ascii: "g"), bytes[1] == UInt8(ascii: ".") else { return nil }
            return state.globals.refcountOfLast(
                UnsafeRawBufferPointer(rebasing: bytes[2...]), heap: heap, cache: &globalCache)
        }
    }

    /// Runs `body` with a reference to the named object, released afterwards.
    func with<R>(_ text: String, readOnly: Bool = false, _ body: (ObjectRef) throws(CommandError) -> R)
        throws(CommandError) -> R
    {
        let ref = try resolve(text, readOnly: readOnly)
        defer { heap.release(ref, shard: shard) }
        return try body(ref)
    }

    /// ``with(_:readOnly:_:)`` for argument `index` of `arguments`, resolved by
    /// ``resolve(_:_:readOnly:)``.
    @inline(__always)
    func with<R>(
        _ arguments: Arguments, _ index: Int, readOnly: Bool = false, _ body: (ObjectRef) throws(CommandError) -> R
    ) throws(CommandError) -> R {
        let ref = try resolve(arguments, index, readOnly: readOnly)
        defer { heap.release(ref, shard: shard) }
        return try body(ref)
    }

    /// Binds `target` to `ref`, consuming the reference; releases what the name held before.
    func bind(_ target: String, to ref: ObjectRef) throws(CommandError) {
        let name: Name
        do {
            name = try Self.parseName(target)
        } catch {
            heap.release(ref, shard: shard)
            throw error
        }
        let old: ObjectRef?
        switch name {
        case .local(let local): old = frames[frames.count - 1].bindings.bind(local, to: ref)
        case .global(let global): old = state.globals.bind(global, to: ref)
        case .id:
            heap.release(ref, shard: shard)
            throw .syntax("cannot assign to an object id '\(target)'")
        }
        if let old { heap.release(old, shard: shard) }
    }

    /// `del name`: unbinds and releases.
    func unbind(_ target: String) throws(CommandError) {
        let old: ObjectRef?
        switch try Self.parseName(target) {
        case .local(let local): old = frames[frames.count - 1].bindings.unbind(local)
        case .global(let global): old = state.globals.unbind(global)
        case .id: throw .syntax("cannot delete an object id '\(target)'")
        }
        guard let old else { throw .noVariable(target) }
        heap.release(old, shard: shard)
    }

    func isBound(_ target: String) -> Bool {
        switch try? Self.parseName(target) {
        case .local(let local): frames[frames.count - 1].bindings.lookup(local) != nil
        case .global(let global): state.globals.snapshot()[global] != nil
        default: false
        }
    }

    /// The current frame's variables.
    var currentBindings: [String: ObjectRef] { frames[frames.count - 1].bindings.names }

    // MARK: Frames

    func pushFrame(_ name: String) throws(CommandError) {
        guard frames.count < state.configuration.maxScopeDepth else {
            throw .limit("scope depth limit reached (\(state.configuration.maxScopeDepth) frames)")
        }
        frames.append((name, Bindings()))
        callSites.append((currentPosition, position))
    }

    /// Leaves the current frame, releasing its locals at once; returns how many were released.
    func popFrame() throws(CommandError) -> Int {
        guard frames.count > 1 else { throw CommandError(.scope, "no function frame to pop (at top level)") }
        var frame = frames.removeLast()
        // Back in the caller, at the line that pushed the frame.
        position = callSites.removeLast().stated
        let refs = frame.bindings.removeAll()
        for ref in refs { heap.release(ref, shard: shard) }
        return refs.count
    }

    var frameNames: [String] { frames.map(\.name) }

    // MARK: Source positions

    /// The position allocations are attributed to: the last `AT`, else `<client N>:C` where C
    /// counts the session's commands, like the line numbers of an interactive prompt.
    var currentPosition: TraceFrame {
        position ?? TraceFrame(filename: "<client \(id)>", lineno: commandsProcessed)
    }

    /// The traceback of an allocation made now, most recent frame first.
    var tracebackFrames: [TraceFrame] { [currentPosition] + callSites.reversed().map(\.frame) }

    /// Every frame's name and variables, outermost first (for the views that list roots).
    var frameBindings: [(name: String, names: [String: ObjectRef])] {
        frames.map { ($0.name, $0.bindings.names) }
    }

    // MARK: Lifetime

    /// Every reference the session holds (for the verifier).
    func allReferences() -> [ObjectRef] {
        frames.flatMap { Array($0.bindings.names.values) }
    }

    /// Releases every variable of every frame (the connection closed).
    func releaseAll() {
        while frames.count > 1 { _ = try? popFrame() }
        for ref in frames[0].bindings.removeAll() { heap.release(ref, shard: shard) }
    }
}
