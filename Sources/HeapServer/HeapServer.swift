import Foundation
import HeapCore
import HeapProtocol
import Logging
import NIOCore
import NIOPosix

/// Why the server could not start.
public struct ServerStartError: Error, CustomStringConvertible {
    public let description: String
    public let errnoValue: Int32
}

/// heapd's socket server: binds (or adopts) the listening socket and serves sessions until stopped.
public final class HeapServer: Sendable {
    let state: ServerState
    let group: MultiThreadedEventLoopGroup
    /// The one loop that accepts connections, apart from the loops that run commands: a long command
    /// blocks its own loop, and new clients must still be accepted (and refused or served elsewhere).
    private let acceptGroup: MultiThreadedEventLoopGroup
    /// Runs what must not wait on an event loop: the work of commands that stop the world, wait for
    /// the collector thread or touch files (``CommandOutcome/afterGate(_:)``).
    private let blockingPool: NIOThreadPool
    private let channel: Channel
    private let createdPath: String?
    /// Writes the rejected-requests summary every ``RejectedRequestLog/summaryInterval`` seconds.
    private let rejectionSummary: RepeatedTask
    /// `--save-every`'s background saves.
    private let periodicSave: RepeatedTask?

    /// Threads of the blocking pool. Two: a stop of the world takes the whole heap anyway, and a second
    /// thread lets a snapshot file be written while a collection runs.
    static let blockingThreads = 2

    /// Connections the kernel queues before heapd accepts them.
    static let listenBacklog: Int32 = 256

    /// The heap the server serves (for in-process inspection and benchmarks).
    public var heap: Heap { state.heap }

    /// Binds and starts serving. A socket file with a live daemon behind it makes this fail with a clear
    /// message; a stale one (nothing accepts) is replaced.
    public static func start(configuration: ServerConfiguration, logger: Logger) throws -> HeapServer {
        if let problem = configuration.connectionLimits.problem {
            throw ServerStartError(description: problem, errnoValue: EINVAL)
        }
        var configuration = configuration
        configuration.maxClients = fitClientsToDescriptors(configuration.maxClients, logger: logger)
        let state = ServerState(configuration: configuration, logger: logger)
        let resumed = configuration.snapshotDirectory + "/" + HeapImageStore.defaultName
        let image =
            configuration.imagePath
            ?? (configuration.resume && FileManager.default.fileExists(atPath: resumed) ? resumed : nil)
        if let path = image {
            // Before the socket exists and the collector runs: no client sees a half-loaded heap, and a
            // refused image fails the start (non-zero exit; under systemd ERRNO= and STATUS=).
            do {
                try state.images.load(path: path, state: state)
            } catch {
                let missing = !FileManager.default.fileExists(atPath: path)
                throw ServerStartError(
                    description: error.message,
                    errnoValue: missing ? ENOENT : error.kind == .cannotRestore ? EIO : EINVAL)
            }
            let loaded = state.images.status.withLock { $0 }
            logger.info(
                "heap image loaded",
                metadata: [
                    "image": "\(path)", "objects": "\(loaded.loadedObjects)", "bytes": "\(loaded.loadedBytes)",
                    "duration_us": "\(loaded.loadDurationMicroseconds)",
                ])
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.workerThreads)
        let acceptGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let blockingPool = NIOThreadPool(numberOfThreads: blockingThreads)
        blockingPool.start()
        let limits = configuration.connectionLimits
        let bootstrap = ServerBootstrap(group: acceptGroup, childGroup: group)
            .serverChannelOption(.backlog, value: listenBacklog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Out of descriptors, accept() fails while the socket stays readable: pause instead of spinning.
                    try channel.pipeline.syncOperations.addHandler(
                        AcceptBackoffHandler(backoffProvider: { _ in AcceptErrorHandler.backoff }))
                    try channel.pipeline.syncOperations.addHandler(AcceptErrorHandler(state: state))
                }
            }
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            // Past `output-pause` unsent bytes the channel turns unwritable and ConnectionHandler pauses.
            .childChannelOption(
                .writeBufferWaterMark, value: .init(low: limits.outputResume, high: limits.outputPause)
            )
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ConnectionHandler(state: state, blockingPool: blockingPool))
                }
            }
        let channel: Channel
        var createdPath: String?
        var socketMetadata: Logger.Metadata = [:]
        do {
            switch configuration.listenAddress.storage {
            case .path(let path):
                try SocketFile.prepare(path)
                // Bound with its final mode and group before NIO listens: no client connects earlier.
                let (fd, mode, gid) = try configuration.socketPermissions.bindSocket(at: path)
                createdPath = path
                do {
                    channel = try bootstrap.withBoundSocket(fd).wait()
                } catch {
                    unlink(path)
                    throw error
                }
                // NIO listens on an adopted socket with its default backlog (128): listen again with ours.
                listen(fd, listenBacklog)
                socketMetadata = [
                    "socket_mode": "\(String(mode, radix: 8))", "socket_gid": "\(gid.map(String.init) ?? "-")",
                ]
            case .descriptor(let fd, _):
                // systemd's SocketMode=/SocketGroup= apply: heapd never changes a socket it did not create.
                channel = try bootstrap.withBoundSocket(fd).wait()
            }
        } catch {
            try? group.syncShutdownGracefully()
            try? acceptGroup.syncShutdownGracefully()
            try? blockingPool.syncShutdownGracefully()
            throw error
        }
        let interval = TimeAmount.seconds(RejectedRequestLog.summaryInterval)
        let rejectionSummary = group.next().scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            state.rejections.flush()
        }
        // Young collections run on the event loop whose commands made them due, after its batch
        // (ConnectionHandler); full ones on the collector thread.
        state.heap.collector.mutatorsCollectYoung.store(true, ordering: .relaxed)
        state.heap.collector.start()
        let periodicSave = configuration.saveEverySeconds > 0 ? scheduleSaves(state, blockingPool, group) : nil
        logger.info(
            "heapd listening",
            metadata: [
                "listen": "\(configuration.listenAddress)", "workers": "\(configuration.workerThreads)",
                "pid": "\(getpid())", ServerLogEvent.metadataKey: "\(ServerLogEvent.daemonStarted.metadataValue)",
            ].merging(socketMetadata) { first, _ in first })
        logger.debug(
            "limits",
            metadata: Logger.Metadata(
                uniqueKeysWithValues: LimitSetting.allCases.map { ($0.rawValue, "\($0.value(in: configuration))") }))
        return HeapServer(
            state: state, group: group, acceptGroup: acceptGroup, blockingPool: blockingPool, channel: channel,
            createdPath: createdPath, rejectionSummary: rejectionSummary, periodicSave: periodicSave)
    }

    /// `--save-every N`: a `BGSAVE` of `heap.image` every N seconds, started from the blocking pool (its
    /// capture stops the world, which no event loop may wait for). One already running is not doubled.
    private static func scheduleSaves(
        _ state: ServerState, _ pool: NIOThreadPool, _ group: MultiThreadedEventLoopGroup
    ) -> RepeatedTask {
        let interval = TimeAmount.seconds(Int64(state.configuration.saveEverySeconds))
        return group.next().scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            pool.submit { work in
                guard work == .active, !state.shuttingDown.load(ordering: .relaxed) else { return }
                _ = state.images.backgroundSave(name: HeapImageStore.defaultName, state: state)
            }
        }
    }

    private init(
        state: ServerState, group: MultiThreadedEventLoopGroup, acceptGroup: MultiThreadedEventLoopGroup,
        blockingPool: NIOThreadPool, channel: Channel, createdPath: String?, rejectionSummary: RepeatedTask,
        periodicSave: RepeatedTask?
    ) {
        self.state = state
        self.group = group
        self.acceptGroup = acceptGroup
        self.blockingPool = blockingPool
        self.channel = channel
        self.createdPath = createdPath
        self.rejectionSummary = rejectionSummary
        self.periodicSave = periodicSave
    }

    /// Replaces the access policy (a reload): new connections and the next command of every connected
    /// client are judged by it.
    public func setAccessPolicy(_ policy: AccessPolicy) {
        state.setAccessPolicy(policy)
    }

    /// Stops accepting, closes every client (their variables are released), frees the globals and
    /// removes the socket file heapd created. Commands still running stop at their next safepoint with
    /// `-CANCELLED`, so no command keeps an event loop, and thereby the stop, waiting.
    public func stop() {
        state.shuttingDown.store(true, ordering: .relaxed)
        try? channel.close().wait()
        if let createdPath { unlink(createdPath) }
        // A connection accepted just before the close is set up in two hops: the accepting loop hands
        // it to a client loop (a task there), and the client loop's result hops back to the accepting
        // loop. Both loops must still run for both hops, else NIO reports "Cannot schedule tasks on an
        // EventLoop that has already shut down" and the half-set-up channel leaks (the ASan run saw
        // it either way round). So: an empty task on every client loop, which runs after any setup
        // queued before it; then one on the accepting loop, after the hops back; only then the
        // accepting loop goes down, and with the server channel closed no new client can appear.
        for loop in group.makeIterator() { _ = try? loop.submit {}.wait() }
        _ = try? acceptGroup.next().submit {}.wait()
        try? acceptGroup.syncShutdownGracefully()
        // Close every client and wait for the closes to finish on their event loops before shutting
        // the loops down: a connection accepted just before the stop would otherwise schedule work on
        // a loop that is already gone.
        for future in state.closeAllClients() { _ = try? future.wait() }
        // Work of stopping commands still running finishes (a collection in progress completes) and
        // hands its reply to loops that are still up; the closed clients drop it.
        try? blockingPool.syncShutdownGracefully()
        // A BGSAVE still writing lands (or the shutdown deadline ends heapd; the old image stays).
        periodicSave?.cancel()
        state.images.waitForBackgroundSave()
        if state.configuration.resume {
            // Every session is closed: the image is exactly the shared heap. If the stop deadline
            // cuts it short, the previous image stays whole (written to a temporary name first).
            let reply = state.images.save(name: HeapImageStore.defaultName, state: state)
            let saved = state.images.status.withLock { $0 }
            if reply == .ok {
                state.logger.info(
                    "heap image saved at stop",
                    metadata: [
                        "image": "\(saved.lastSavePath)", "objects": "\(saved.lastSaveObjects)",
                        "bytes": "\(saved.lastSaveBytes)", "duration_us": "\(saved.lastSaveDurationMicroseconds)",
                    ])
            } else {
                state.logger.error("heap image not saved at stop: \(saved.lastError)")
            }
        }
        rejectionSummary.cancel()
        state.rejections.flush()
        try? group.syncShutdownGracefully()
        state.releaseGlobals()
        state.heap.collector.stop()
        state.logger.info(
            "heapd stopped",
            metadata: [
                "objects_left": "\(state.heap.statistics().objects)",
                ServerLogEvent.metadataKey: "\(ServerLogEvent.daemonStopped.metadataValue)",
            ])
    }

    /// Removes the socket file heapd created, now: for a shutdown that cannot wait for ``stop()``.
    public func removeSocketFile() {
        if let createdPath { unlink(createdPath) }
    }

    /// The most clients the descriptor limit leaves room for (``DescriptorBudget``): raises the soft
    /// `RLIMIT_NOFILE` toward `requested` plus the reserve, then lowers `requested` to what fits, with a
    /// warning when it had to.
    static func fitClientsToDescriptors(_ requested: Int, logger: Logger) -> Int {
        var limit = rlimit()
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        guard getrlimit(resource, &limit) == 0 else { return requested }
        let budget = DescriptorBudget(requested: requested, soft: UInt64(limit.rlim_cur), hard: UInt64(limit.rlim_max))
        if let wanted = budget.softLimitWanted {
            var raised = limit
            raised.rlim_cur = rlim_t(wanted)
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        let clients = DescriptorBudget.maxClients(requested: requested, soft: UInt64(limit.rlim_cur))
        if clients < requested {
            logger.warning(
                "max-clients lowered from \(requested) to \(clients): the descriptor limit (RLIMIT_NOFILE) is \(limit.rlim_cur), \(DescriptorBudget.reserve) kept for the daemon",
                metadata: ["max_clients": "\(clients)", "rlimit_nofile": "\(limit.rlim_cur)"])
        }
        return clients
    }

    /// A future that completes when the listening channel closes.
    public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }
}
