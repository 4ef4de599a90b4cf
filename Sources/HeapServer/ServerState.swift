import Foundation
import HeapCore
import HeapProtocol
import Logging
import NIOCore
import Synchronization

/// What every connection shares: the heap, the globals, the live sessions and the server's counters.
final class ServerState: Sendable {
    let heap: Heap
    let globals = GlobalNamespace()
    /// tracemalloc snapshots by number (`TRACEMALLOC TAKE_SNAPSHOT`).
    let snapshots = TraceSnapshotStore()
    /// Heap images: `SAVE`, `BGSAVE`, `LASTSAVE`, `--image`.
    let images = HeapImageStore()
    let configuration: ServerConfiguration
    let logger: Logger
    let startTime = Date()

    let connectedClients = Atomic<Int>(0)
    let totalConnections = Atomic<Int>(0)
    let totalCommands = Atomic<Int>(0)
    let rejectedConnections = Atomic<Int>(0)
    private let nextShard = Atomic<Int>(0)
    private let nextClientID = Atomic<Int>(0)
    /// Live sessions by client id, so the verifier can count the references their variables hold.
    private let sessions = LockedValue<[Int: SessionBox]>([:])

    /// The highest count each type ever had, for `GROWTH` (objgraph's `show_growth`), server-wide.
    let typeGrowth = LockedValue(TypeGrowthTracker())

    /// Channels of sessions in `GC SUBSCRIBE` mode, by client id.
    private let subscribers = LockedValue<[Int: Channel]>([:])

    /// Called after every collection (the systemd status line refreshes on them).
    private let collectionObservers = LockedValue<[@Sendable (CollectionInfo) -> Void]>([])

    /// The policy new connections are judged by; a reload replaces it (``setAccessPolicy(_:)``).
    private let accessPolicy: LockedValue<AccessPolicy>
    /// Requests refused before they ran, counted for a periodic summary.
    let rejections: RejectedRequestLog
    /// What the limits did (`INFO limits`).
    let counters = LimitCounters()
    /// Partly received requests, by client (``PartialRequestBudget``).
    private let partialRequests: LockedValue<PartialRequestBudget>
    /// Set at shutdown: running commands stop at their next safepoint (``CommandSafepoint``).
    let shuttingDown = Atomic<Bool>(false)
    /// `INFO`'s `instantaneous_ops_per_sec`.
    let operationRate = OperationRate()
    /// What `METRICS` reports (collection pauses and error replies are recorded as they happen).
    let metrics = ServerMetrics(generations: 3)

    /// Limit-hit log entries are rate-limited: at most one per ``limitLogInterval``, the rest counted.
    private static let limitLogInterval: UInt64 = 1_000_000_000
    private let lastLimitLog = LockedValue<(at: UInt64, suppressed: Int)>((0, 0))

    init(configuration: ServerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        accessPolicy = LockedValue(configuration.accessPolicy)
        rejections = RejectedRequestLog(logger: logger)
        partialRequests = LockedValue(PartialRequestBudget(limit: configuration.connectionLimits.partialRequestBudget))
        heap = Heap(configuration: configuration.heap)
        let logger = logger
        heap.setEventSink { [weak self] event in
            guard let self else { return }
            self.deliver(event, logger: logger)
        }
        heap.collector.setRoots { [weak self] in self?.rootReferences() ?? [] }
    }

    func subscribe(_ session: Session) {
        guard let channel = session.channel else { return }
        subscribers.withLock { $0[session.id] = channel }
    }

    func unsubscribe(_ session: Session) {
        _ = subscribers.withLock { $0.removeValue(forKey: session.id) }
    }

    /// Logs an event and pushes it to every subscribed connection (never blocks: the event is handed to
    /// each connection's event loop, as a ``CollectorEventPush``).
    private func deliver(_ event: HeapEvent, logger: Logger) {
        let push: Reply
        switch event {
        case .debug(let line):
            logger.info("\(line)")
            return
        case .collectionStarted(let generation):
            push = .push([.bulk("gc-start"), .integer(Int64(generation))])
        case .collectionFinished(let info):
            var metadata: Logger.Metadata = [:]
            metadata["gc_generation"] = "\(info.generation)"
            metadata["gc_collected"] = "\(info.collected)"
            metadata["gc_uncollectable"] = "\(info.uncollectable)"
            metadata["gc_pause_usec"] = "\(info.pauseNanoseconds / 1000)"
            metadata[ServerLogEvent.metadataKey] = "\(ServerLogEvent.collectionFinished.metadataValue)"
            logger.debug("collection finished", metadata: metadata)
            metrics.record(info)
            for observer in collectionObservers.withLock({ $0 }) { observer(info) }
            let fields: [Int64] = [
                Int64(info.generation), Int64(info.collected), Int64(info.uncollectable),
                Int64(info.pauseNanoseconds / 1000),
            ]
            push = .push([Reply.bulk("gc-stop")] + fields.map { Reply.integer($0) })
        case .finalizer(let object, let typeName):
            logger.debug("finalizer ran", metadata: ["object": "\(object)", "type": "\(typeName)"])
            push = .push([.bulk("finalizer"), .bulk(object.description), .bulk(typeName)])
        case .weakrefCleared(let weakref, let target):
            push = .push([.bulk("weakref-cleared"), .bulk(weakref.description), .bulk(target.description)])
        }
        let channels = subscribers.withLock { Array($0.values) }
        guard !channels.isEmpty else { return }
        let event = CollectorEventPush(push)
        for channel in channels {
            // Always a task on the subscriber's own loop, never a write from this thread: its
            // ConnectionHandler writes it in order with its replies, and only while it is subscribed.
            channel.eventLoop.execute { channel.pipeline.fireUserInboundEventTriggered(event) }
        }
    }

    func addCollectionObserver(_ observer: @escaping @Sendable (CollectionInfo) -> Void) {
        collectionObservers.withLock { $0.append(observer) }
    }

    /// Logs that a configured limit was hit (`-LIMIT` reply), at most once a second; the entries
    /// left out in between are counted in the next one's `suppressed` field.
    func noteLimitHit(_ message: String, clientID: Int?) {
        let now = CycleCollector.now()
        let suppressed = lastLimitLog.withLock { last -> Int? in
            guard now &- last.at >= Self.limitLogInterval || last.at == 0 else {
                last.suppressed += 1
                return nil
            }
            defer { last = (now, 0) }
            return last.suppressed
        }
        guard let suppressed else { return }
        var metadata: Logger.Metadata = [
            ServerLogEvent.metadataKey: "\(ServerLogEvent.limitHit.metadataValue)", "limit": "\(message)",
            "suppressed": "\(suppressed)",
        ]
        if let clientID { metadata["client_id"] = "\(clientID)" }
        logger.warning("limit hit: \(message)", metadata: metadata)
    }

    /// Registers a new session; returns nil (and counts a rejection) when the client limit is reached.
    func openSession(channel: Channel? = nil) -> Session? {
        let connected = connectedClients.add(1, ordering: .relaxed).newValue
        if connected > configuration.maxClients {
            connectedClients.subtract(1, ordering: .relaxed)
            rejectedConnections.add(1, ordering: .relaxed)
            return nil
        }
        totalConnections.add(1, ordering: .relaxed)
        let id = nextClientID.add(1, ordering: .relaxed).newValue
        let shard = nextShard.add(1, ordering: .relaxed).newValue % configuration.heap.shardCount
        // Credentials and role are fixed here, before the session runs any command.
        let credentials = channel.flatMap { PeerCredentials.of($0) }
        let client = ClientInfo(
            id: id, credentials: credentials, address: ClientInfo.address(of: channel), role: .monitor)
        let session = Session(id: id, shard: shard, state: self, client: client)
        // Set before the session is registered, so other threads reading the registry see it.
        session.channel = channel
        sessions.withLock { $0[id] = SessionBox(session: session) }
        // Judged after registering and under the policy's lock, so a reload that races with this connect
        // either is seen here or finds the client registered and judges it again.
        accessPolicy.withLock { client.role = client.role(under: $0) }
        return session
    }

    /// The policy in force.
    var currentAccessPolicy: AccessPolicy { accessPolicy.withLock { $0 } }

    /// Replaces the policy and judges every connected client again, so that a reload that demotes a
    /// user takes effect on its open connections too (from its next command).
    func setAccessPolicy(_ policy: AccessPolicy) {
        accessPolicy.withLock { current in
            current = policy
            for client in clients() { client.role = client.role(under: policy) }
        }
    }

    /// Every connected client, by id.
    func clients() -> [ClientInfo] {
        sessions.withLock { $0.values.map(\.session.client) }.sorted { $0.id < $1.id }
    }

    /// Closes a session: every reference it held is released.
    func closeSession(_ session: Session) {
        unsubscribe(session)
        // Release first, unregister after: a verifier that stops the world in between must either
        // count the session's references or find it holding none, never miss references it holds.
        heap.gate.shared { session.releaseAll() }
        sessions.withLock { $0[session.id] = nil }
        partialRequests.withLock { $0.remove(client: session.id) }
        connectedClients.subtract(1, ordering: .relaxed)
    }

    /// Client `id` now holds `bytes` of partly received requests; returns the clients to close (maybe
    /// `id` itself) so that the rest fit the budget.
    func countPartialRequest(client id: Int, bytes: Int) -> [(client: Int, bytes: Int)] {
        partialRequests.withLock { $0.update(client: id, bytes: bytes) }
    }

    /// Bytes of partly received requests held now, over all clients.
    var partialRequestBytes: Int { partialRequests.withLock { $0.total } }

    /// Asks client `id`'s connection, on its own event loop, to close with `-LIMIT`.
    func evict(client id: Int, _ eviction: PartialRequestEviction) {
        guard let channel = sessions.withLock({ $0[id]?.session.channel }) else { return }
        channel.pipeline.fireUserInboundEventTriggered(eviction)
    }

    /// The references held outside the heap: session variables and globals (read while no session
    /// runs, which `stopped` proves).
    func externalReferences(_ stopped: borrowing StoppedHeap) -> [ObjectRef: Int] {
        // The roots a full collection marks from, each counted as often as it is held.
        var counts: [ObjectRef: Int] = [:]
        for ref in rootReferences() { counts[ref, default: 0] += 1 }
        return counts
    }

    /// The objects held from outside the heap, repeats included: where a full collection's mark-alive
    /// pass starts (``CycleCollector/setRoots(_:)``). Called by the collector with the world stopped;
    /// takes only the sessions' and globals' own short locks, which no one holds across the gate.
    func rootReferences() -> [ObjectRef] {
        Array(globals.snapshot().values) + sessionReferences()
    }

    /// The references sessions hold (variables of every frame, and what a long command paused at a
    /// safepoint holds), repeats included: what a heap image leaves out. With the world stopped.
    func sessionReferences() -> [ObjectRef] {
        var references: [ObjectRef] = []
        for box in sessions.withLock({ Array($0.values) }) {
            references.append(contentsOf: box.session.allReferences())
            // A long command paused at a safepoint: what it holds is outside the heap too.
            references.append(contentsOf: box.session.heldByCommand)
        }
        return references
    }

    /// Every session variable and global as a labelled root, as `viewer` names them: its own variables
    /// bare (`x`), another client's as `client 7: x`, a variable of a frame other than the innermost with
    /// ` in <frame>`, globals as `g.name`. The viewer's own come first, then the globals, then the other
    /// clients by id. Only with the world stopped, when no session runs.
    func roots(viewer: Int, _ stopped: borrowing StoppedHeap) -> [HeapRoot] {
        var mine: [HeapRoot] = []
        var others: [HeapRoot] = []
        let sessions = self.sessions.withLock { $0.values.map(\.session) }.sorted { $0.id < $1.id }
        for session in sessions {
            let own = session.id == viewer
            let frames = session.frameBindings
            // Innermost frame first: its variables are the ones the session can name.
            for (depth, frame) in frames.enumerated().reversed() {
                let suffix = depth == frames.count - 1 ? "" : " in \(frame.name)"
                for (name, ref) in frame.names.sorted(by: { $0.key < $1.key }) {
                    let label = (own ? "" : "client \(session.id): ") + name + suffix
                    if own {
                        mine.append(HeapRoot(label: label, ref: ref, holder: .variable))
                    } else {
                        others.append(HeapRoot(label: label, ref: ref, holder: .variable))
                    }
                }
            }
            // A long command paused at a safepoint (its half-built list, its generator) is a root too.
            for ref in session.heldByCommand {
                others.append(HeapRoot(label: "client \(session.id): (running command)", ref: ref, holder: .variable))
            }
        }
        let globals = globals.snapshot().sorted { $0.key < $1.key }.map {
            HeapRoot(label: "g." + $0.key, ref: $0.value, holder: .global)
        }
        return mine + globals + others
    }

    /// Closes the connections of the clients `matching` says (`CLIENT KILL`), except client `sparing`;
    /// returns their ids. Each closes on its own event loop after what runs now: never inside the
    /// caller's command, which holds the heap's gate that closing a session takes again.
    func kill(sparing: Int?, matching: (ClientInfo) -> Bool) -> [Int] {
        let victims = sessions.withLock { sessions in
            sessions.values.map(\.session).filter { $0.id != sparing && matching($0.client) }
        }
        for session in victims {
            guard let channel = session.channel else { continue }
            channel.eventLoop.execute { channel.close(promise: nil) }
        }
        return victims.map(\.id).sorted()
    }

    /// Starts closing every client connection; returns their close futures.
    func closeAllClients() -> [EventLoopFuture<Void>] {
        let channels = sessions.withLock { $0.values.compactMap { $0.session.channel } }
        return channels.map { channel in
            let promise = channel.eventLoop.makePromise(of: Void.self)
            channel.close(promise: promise)
            return promise.futureResult.recover { _ in }
        }
    }

    /// Releases the globals (at shutdown, after every session closed).
    func releaseGlobals() {
        heap.gate.shared {
            for ref in globals.removeAll() { heap.release(ref) }
        }
    }
}

/// Lets the registry hold sessions, which are confined to their connection's event loop.
///
/// Safe because the registry only reads a session's bindings while holding the heap's gate
/// exclusively, when no event loop is executing a command on it.
struct SessionBox: @unchecked Sendable {
    let session: Session
}
