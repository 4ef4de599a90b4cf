import HeapCore
import HeapProtocol
import Logging
import NIOCore
import NIOPosix

/// The per-connection pipeline stage: frames requests, runs them in the session, writes replies.
///
/// A request goes one way: bytes → ``Request`` → ``CommandTable/execute(_:in:)`` inside the heap's gate →
/// ``CommandOutcome`` → reply. Where the connection is (reading, in a batch, waiting for a reply that
/// comes later, stepping a long command, closing) is ``ConnectionStateMachine``'s to say; this handler
/// reports events to it and does what it answers. docs/006-connection-and-gate.md draws the whole path.
///
/// Synchronous on purpose (see reference/swift-server-notes.md): replies are written as each request
/// completes and flushed once per read burst, which is what lets pipelined clients reach Redis's rates.
/// Requests of one burst run inside the heap's gate in batches, so a collection waits at most one batch.
/// Nothing waits on the event loop: a command that stops the world or waits for the collector runs off
/// it (``CommandOutcome/afterGate(_:)``, on the blocking pool) and its reply comes through a future, so
/// the loop's other clients go on meanwhile (docs/007-stop-the-world-commands.md).
///
/// What a client may cost is bounded here, by the rules of ``ConnectionFlow``: its requests stop being
/// executed and read while its unsent output is past `output-pause` (they wait, decoded or not, in
/// this handler), a reply over `max-reply` becomes `-LIMIT`, output past `output-limit` disconnects it,
/// and its partly received request counts against the server-wide `partial-request-budget`.
final class ConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Requests run per acquisition of the gate before it is released for a waiting collector
    /// (docs/006-connection-and-gate.md: why 64).
    static let requestsPerGateHold = 64

    private let state: ServerState
    /// Where the work of ``CommandOutcome/afterGate(_:)`` runs: threads that may block. The server
    /// always gives one; without it (the in-process test tier, whose `EmbeddedChannel` has no threads
    /// to hand work to) the work runs on the loop, right after the batch, as the fuzz harness runs it.
    private let blockingPool: NIOThreadPool?
    // The handler's state below is marked `@exclusivity(unchecked)`: it is read and written on the
    // channel's event loop only, several times per read burst, and passed `inout` only to the static
    // functions (``runBatch``, ``decodeBatch(from:decoder:into:)``), which cannot reach the handler, so
    // no two accesses overlap. Checked, each access was a call into the runtime's access set: about 120
    // instructions per PING at 16 clients × 16 pipelined (callgrind), where a burst is 16 requests.
    @exclusivity(unchecked)
    private var session: Session?
    @exclusivity(unchecked)
    private var machine = ConnectionStateMachine()
    @exclusivity(unchecked)
    private var decoder: RequestDecoder
    /// Bytes received and not yet decoded.
    @exclusivity(unchecked)
    private var pending: ByteBuffer?
    /// Requests decoded and not yet executed (the flow paused in the middle of a batch, or a reply is
    /// awaited), and the framing error found after them, reported once they have run.
    @exclusivity(unchecked)
    private var decoded = RequestQueue()
    @exclusivity(unchecked)
    private var decodeFailure: ProtocolError?
    @exclusivity(unchecked)
    private var flow: ConnectionFlow
    /// What this client is counted for in the partial-request budget.
    @exclusivity(unchecked)
    private var countedPartialBytes = 0
    /// In the `waitingForReply` state: completes the awaited reply at once if the client goes first.
    private var cancelAwaited: (() -> Void)?
    /// In the `stepping` state: the long command.
    private var running: SteppedCommand?
    /// The buffer replies are encoded into, kept from one read burst to the next: once NIO has sent it
    /// (the flush at the end of the burst), the next burst writes into the same memory, so a request
    /// costs no allocation for its reply (docs/006). nil while a burst uses it.
    @exclusivity(unchecked)
    private var outbound: ByteBuffer?
    /// A buffer grown past this by a big reply is not kept: a connection that once read a 16 MiB
    /// listing should not hold 16 MiB for the rest of its life.
    static let retainedOutboundCapacity = 64 * 1024

    init(state: ServerState, blockingPool: NIOThreadPool? = nil) {
        self.state = state
        self.blockingPool = blockingPool
        decoder = RequestDecoder(limits: state.configuration.protocolLimits)
        flow = ConnectionFlow(limits: state.configuration.connectionLimits)
    }

    func channelActive(context: ChannelHandlerContext) {
        guard let session = state.openSession(channel: context.channel) else {
            state.noteLimitHit("max number of clients reached (\(state.configuration.maxClients))", clientID: nil)
            let reply = CommandError.limit("max number of clients reached (\(state.configuration.maxClients))").reply
            state.metrics.countError(.limit)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(bytes: reply.encoded)))
                .whenComplete { _ in channel.close(promise: nil) }
            _ = machine.close()
            flow.close()
            return
        }
        self.session = session
        // For a running command's safepoints, which cannot wait for NIO to report the hang-up.
        session.peer = ClientSocket(channel: context.channel)
        if state.logger.logLevel <= .debug {
            var metadata: Logger.Metadata = [
                "client_id": "\(session.id)", "client_role": "\(session.client.role)",
                ServerLogEvent.metadataKey: "\(ServerLogEvent.clientConnected.metadataValue)",
            ]
            if let peer = session.client.credentials {
                metadata["client_pid"] = "\(peer.pid)"
                metadata["client_uid"] = "\(peer.uid)"
                metadata["client_gid"] = "\(peer.gid)"
            }
            state.logger.debug("client connected", metadata: metadata)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closeSession()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        closeSession()
    }

    private func closeSession() {
        guard let session else { return }
        self.session = nil
        _ = machine.close()
        flow.close()
        cancelAwaited?()
        cancelAwaited = nil
        // A long command in progress is not wanted any more: what it holds is released first.
        running?.clientLeft()
        running = nil
        state.closeSession(session)
        state.logger.debug(
            "client gone",
            metadata: [
                "client_id": "\(session.id)", "commands": "\(session.commandsProcessed)",
                ServerLogEvent.metadataKey: "\(ServerLogEvent.clientGone.metadataValue)",
            ])
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard machine.bytesReceived(), session != nil else { return }
        var incoming = unwrapInboundIn(data)
        if pending == nil || pending!.readableBytes == 0 {
            pending = incoming
        } else {
            pending!.writeBuffer(&incoming)
        }
        execute(context: context)
    }

    // MARK: Executing

    /// Executes what was received, as far as the state and the flow allow, and queues the replies.
    private func execute(context: ChannelHandlerContext) {
        guard let session, machine.mayExecute else {
            // A reply is awaited or a long command runs: what arrives waits for it, counted.
            countPartialRequest(context: context)
            return
        }
        var output = takeOutbound(context)
        var processed = 0
        var close = ConnectionStateMachine.CloseAction.none
        let queued = unsentBytes(context)
        parsing: while machine.mayExecute {
            if decoded.isEmpty && decodeFailure == nil {
                decodeFailure = decodeBatch()
                if decoded.isEmpty && decodeFailure == nil { break parsing }
            }
            guard flow.mayExecute(unsentOutput: queued + output.readableBytes) else { break parsing }
            if !decoded.isEmpty && machine.startBatch() {
                // The outcome that ended the batch early and runs once the gate is left.
                var handoff: CommandOutcome?
                let end = state.heap.gate.shared {
                    Self.runBatch(
                        session: session, state: state, queued: queued, output: &output, processed: &processed,
                        decoded: &decoded, machine: &machine, flow: &flow)
                }
                switch end {
                case .drained: break
                case .close:
                    decodeFailure = nil
                    close = .closeAfterOutput
                case .handoff(let outcome): handoff = outcome
                }
                machine.endBatch()
                switch handoff {
                case .afterGate(let work):
                    // GC COLLECT, DEBUG VERIFY and friends stop the world or wait for the collector
                    // thread: off the event loop, so that its other clients go on meanwhile.
                    if let blockingPool {
                        awaitReply(blockingPool.runIfActive(eventLoop: context.eventLoop, work), cancel: nil, context)
                    } else {
                        _ = machine.replyCompleted()
                        append(work(), to: &output, session: session)
                    }
                case .later(let awaited):
                    awaitReply(awaited.future, cancel: awaited.cancel, context)
                case .stepped(let command):
                    // A long command: its first step now, the others after each turn of the event
                    // loop, so the loop's other clients are served in between.
                    running = command
                    if let reply = command.advance() {
                        running = nil
                        _ = machine.replyCompleted()
                        append(reply, to: &output, session: session)
                    } else {
                        scheduleStep(context: context)
                    }
                case .reply, .replyAndClose, nil: break
                }
            }
            if decoded.isEmpty, machine.mayExecute, let failure = decodeFailure {
                decodeFailure = nil
                state.rejections.note(code: failure.code, clientID: session.id, "protocol error: \(failure.message)")
                append(failure.reply, to: &output, session: session)
                close = machine.protocolFailure(closesConnection: failure.closesConnection)
            }
        }
        state.totalCommands.add(processed, ordering: .relaxed)
        if output.readableBytes > 0 {
            context.write(wrapOutboundOut(output), promise: nil)
        }
        outbound = output
        // The requests run hold no view of the input any more: the queue lets go of it (if it ran
        // dry), so that `pending` is its only owner and keeps its memory.
        decoded.reset()
        // A young collection these commands' allocations made due runs on this event loop, as CPython
        // collects in the allocating thread (CycleCollector.mutatorsCollectYoung). In a task of its own,
        // after this read's work: a collection completes GC WAITs, whose replies must follow the ones
        // written before them and whose clients' next requests must not run inside this call.
        if state.heap.collector.youngCollectionDue {
            // The task holds the heap (the collector only points back to it, unowned).
            let heap = state.heap
            context.eventLoop.execute { heap.collector.collectIfDue() }
        }
        if pending?.readableBytes == 0 { pending = nil } else { pending?.discardReadBytes() }
        if close == .closeAfterOutput {
            closeAfterOutput(context: context)
            return
        }
        countPartialRequest(context: context)
        if flow.state == .paused {
            // Start sending what is queued; the channel announces when the client has read it down.
            context.flush()
            if context.channel.isWritable {
                // Sent at once (the watermark was never crossed): nothing will announce it, so resume now.
                context.eventLoop.assumeIsolated().execute { self.resume(context: context) }
            }
        } else if machine.drained(idle: nothingReceivedWaits) == .closeAfterOutput {
            closeAfterOutput(context: context)
        }
    }

    /// Nothing this client sent waits to be run.
    private var nothingReceivedWaits: Bool {
        decoded.isEmpty && decodeFailure == nil && (pending?.readableBytes ?? 0) == 0
    }

    /// Holds this client's requests until `reply` completes (on this channel's event loop), then sends
    /// it and goes on with what was received meanwhile. Other clients of the loop run as usual.
    private func awaitReply(
        _ reply: EventLoopFuture<Reply>, cancel: (() -> Void)?, _ context: ChannelHandlerContext
    ) {
        cancelAwaited = cancel
        reply.assumeIsolated().whenComplete { result in
            self.cancelAwaited = nil
            guard self.machine.replyCompleted() == .sendAndExecute, let session = self.session else { return }
            let reply: Reply
            switch result {
            case .success(let value): reply = value
            case .failure(let error):
                // The blocking pool was shut down under the work (heapd stops).
                reply = CommandError(HeapError(.cancelled, "the command was stopped: \(error)")).reply
            }
            self.sendLate(reply, session: session, context: context)
        }
    }

    /// Runs the next step of the long command after the loop polled its sockets.
    private func scheduleStep(context: ChannelHandlerContext) {
        let pause = running?.pauseBeforeNextStep ?? LoopSteps.pause
        LoopSteps.current.enqueue(on: context.eventLoop, after: pause) { self.step(context: context) }
    }

    /// One step of the long command; once it replies, the requests that arrived meanwhile run.
    private func step(context: ChannelHandlerContext) {
        guard let session, let running else { return }
        guard let reply = running.advance() else {
            scheduleStep(context: context)
            return
        }
        self.running = nil
        guard machine.replyCompleted() == .sendAndExecute else { return }
        sendLate(reply, session: session, context: context)
    }

    /// Sends a reply that came after its batch, then executes what arrived meanwhile.
    private func sendLate(_ reply: Reply, session: Session, context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 256)
        append(reply, to: &buffer, session: session)
        context.write(wrapOutboundOut(buffer), promise: nil)
        execute(context: context)
        context.flush()
        checkOutputLimit(context: context)
        if flow.releaseHeldRead() { context.read() }
    }

    /// The flow may open again: execute what waits, then read again if NIO asked to meanwhile.
    private func resume(context: ChannelHandlerContext) {
        guard flow.writable(context.channel.isWritable) == .execute else { return }
        execute(context: context)
        context.flush()
        if flow.releaseHeldRead() { context.read() }
    }

    /// The outbound buffer, empty, for a burst's replies: the one kept from the previous burst (its
    /// memory reused once NIO has sent it; `clear()` allocates anew only if NIO still holds it), or a new
    /// one the first time and after a big reply.
    private func takeOutbound(_ context: ChannelHandlerContext) -> ByteBuffer {
        guard var buffer = outbound, buffer.capacity <= Self.retainedOutboundCapacity else {
            outbound = nil
            return context.channel.allocator.buffer(capacity: 1024)
        }
        // Only one reference to it, so that clear() can keep its memory.
        outbound = nil
        buffer.clear()
        return buffer
    }

    /// How a batch under the gate ended.
    private enum BatchEnd {
        /// The queue is empty, or the flow says to stop for now.
        case drained
        /// A command closes the connection once its reply is out (the queue was emptied).
        case close
        /// A command's outcome runs once the gate is left (it stops the world, waits or steps).
        case handoff(CommandOutcome)
    }

    /// One batch under the gate: runs the decoded requests until the queue is empty, the flow says
    /// stop, or a command closes the connection or hands off.
    ///
    /// Why a static function over `inout` state: the queue, the decoder, the state machine and the flow
    /// are the handler's properties, and mutated per request inside the gate's closure each access
    /// paid a dynamic exclusivity check (perf of redis-benchmark 16×16 PING: `swift_beginAccess`,
    /// `swift_endAccess` and the access set about 5% of heapd's samples). Passed `inout`, they are
    /// checked once per batch.
    ///
    /// The replies are encoded one after the other into the outbound buffer's writable bytes, taken once
    /// for as many replies as fit (``runInRegion``): NIO checks exclusivity dynamically and makes its
    /// storage unique on every access to its bytes, which per reply was about 100 instructions of a
    /// PING's 1760. A reply that does not fit is written the ordinary way, growing the buffer, and the
    /// batch goes on in the bigger region.
    private static func runBatch(
        session: Session, state: ServerState, queued: Int, output: inout ByteBuffer, processed: inout Int,
        decoded: inout RequestQueue, machine: inout ConnectionStateMachine,
        flow: inout ConnectionFlow
    ) -> BatchEnd {
        while true {
            // Room for a batch of small replies (64 PONGs are 448 bytes); a kept buffer has it already.
            output.reserveCapacity(minimumWritableBytes: Self.minimumReplyRegion)
            let before = output.readableBytes
            var stop = RegionStop.drained
            let used = output.withUnsafeMutableWritableBytes { region in
                runInRegion(
                    region, session: session, state: state, unsent: queued + before, processed: &processed,
                    decoded: &decoded, machine: &machine, flow: &flow, stop: &stop)
            }
            output.moveWriterIndex(forwardBy: used)
            switch consume stop {
            case .drained: return .drained
            case .handoff(let outcome): return .handoff(outcome)
            case .close(nil): return .close
            case .close(let reply?):
                encode(reply, to: &output, session: session, flow: flow, state: state)
                return .close
            case .spilled(let reply):
                encode(reply, to: &output, session: session, flow: flow, state: state)
            }
        }
    }

    /// The writable bytes ``runBatch`` asks the outbound buffer for before it encodes into them.
    static let minimumReplyRegion = 512

    /// Why ``runInRegion`` returned.
    private enum RegionStop {
        /// As ``BatchEnd/drained``.
        case drained
        /// As ``BatchEnd/handoff(_:)``.
        case handoff(CommandOutcome)
        /// As ``BatchEnd/close``, with the command's reply if it did not fit in the region.
        case close(Reply?)
        /// A reply did not fit (or is over `max-reply`): the caller writes it and goes on.
        case spilled(Reply)
    }

    /// ``runBatch``'s loop over one region of the outbound buffer: runs requests and encodes their
    /// replies from the region's start; returns the bytes written, and in `stop` why it stopped.
    /// `unsent` is what was queued before the region (NIO's unsent bytes and the buffer's).
    private static func runInRegion(
        _ region: UnsafeMutableRawBufferPointer, session: Session, state: ServerState, unsent: Int,
        processed: inout Int, decoded: inout RequestQueue, machine: inout ConnectionStateMachine,
        flow: inout ConnectionFlow, stop: inout RegionStop
    ) -> Int {
        var used = 0
        while !decoded.isEmpty, flow.mayExecute(unsentOutput: unsent + used) {
            let outcome = CommandTable.execute(words: decoded.take(), in: session)
            processed += 1
            // The machine's action follows from the outcome's kind alone (send and go on, send and close,
            // or end the batch), so the outcome is switched on itself and taken apart, not copied:
            // copying its reply out and destroying the outcome went through outlined value witnesses,
            // about 2% of a GETREFCOUNT's samples.
            _ = machine.commandReturned(outcome.kind, subscribed: session.subscribed)
            switch consume outcome {
            case .reply(let reply):
                guard place(reply, in: region, at: &used, session: session, flow: flow, state: state) else {
                    stop = .spilled(reply)
                    return used
                }
            case .replyAndClose(let reply):
                let placed = place(reply, in: region, at: &used, session: session, flow: flow, state: state)
                decoded.removeAll()
                stop = .close(placed ? nil : reply)
                return used
            case let handoff:
                stop = .handoff(handoff)
                return used
            }
        }
        return used
    }

    /// Encodes `reply` into `region` from `used` and moves `used` past it; false, writing nothing, when
    /// it does not fit or is over `max-reply` (``encode(_:to:session:flow:state:)`` then writes it, or
    /// `-LIMIT` in its place).
    @inline(__always)
    private static func place(
        _ reply: Reply, in region: UnsafeMutableRawBufferPointer, at used: inout Int, session: Session,
        flow: borrowing ConnectionFlow, state: ServerState
    ) -> Bool {
        let version = session.protocolVersion
        let size = reply.encodedSize(version)
        guard size <= region.count - used, flow.replyAllowed(size: size) else { return false }
        reply.encode(into: UnsafeMutableRawBufferPointer(rebasing: region[used...]), size: size, version: version)
        used += size
        if case .error(let code, let message) = reply { countError(code: code, message: message, session, state) }
        return true
    }

    /// An error reply sent: counted by its code; a `-LIMIT` is also noted for the limits report.
    private static func countError(code: String, message: String, _ session: Session, _ state: ServerState) {
        state.metrics.countError(ErrorCode(rawValue: code))
        if code == ErrorCode.limit.rawValue { state.noteLimitHit(message, clientID: session.id) }
    }

    /// Encodes `reply`, or `-LIMIT` in its place when it is bigger than `max-reply`, straight into
    /// `output` (no array in between).
    private func append(_ reply: Reply, to output: inout ByteBuffer, session: Session) {
        Self.encode(reply, to: &output, session: session, flow: flow, state: state)
    }

    /// ``append(_:to:session:)`` with the flow and the server state passed in (``runBatch``).
    private static func encode(
        _ reply: consuming Reply, to output: inout ByteBuffer, session: Session, flow: borrowing ConnectionFlow,
        state: ServerState
    ) {
        var reply = reply
        let version = session.protocolVersion
        var size = reply.encodedSize(version)
        if !flow.replyAllowed(size: size) {
            state.counters.repliesRefused.add(1, ordering: .relaxed)
            reply =
                CommandError.limit(
                    "reply of \(size) bytes exceeds max-reply (\(flow.limits.maxReply) bytes); ask for less (LIMIT n, COUNT n, a smaller DEPTH)"
                ).reply
            size = reply.encodedSize(version)
        }
        let encoded = reply
        output.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { memory in
            encoded.encode(into: memory, size: size, version: version)
        }
        if case .error(let code, let message) = reply { countError(code: code, message: message, session, state) }
    }

    /// Decodes up to ``requestsPerGateHold`` requests from the pending bytes, stopping at a framing error
    /// (reported, and counted as a rejection, once the requests before it have run).
    /// Appends them to `decoded` (empty when called); returns the framing error that stopped it, if any.
    private func decodeBatch() -> ProtocolError? {
        guard var buffer = pending else { return nil }
        pending = nil
        defer { pending = buffer }
        return Self.decodeBatch(from: &buffer, decoder: &decoder, into: &decoded)
    }

    /// ``decodeBatch()`` over `inout` state, for the reason ``runBatch`` is: the decoder and the queue
    /// are the handler's properties, and touched per request each access paid a dynamic exclusivity
    /// check.
    private static func decodeBatch(
        from buffer: inout ByteBuffer, decoder: inout RequestDecoder, into decoded: inout RequestQueue
    ) -> ProtocolError? {
        decoded.decodeBatch(from: &buffer, with: &decoder, upTo: Self.requestsPerGateHold)
    }

    // MARK: Limits

    /// Bytes written to the channel and not yet sent to the client.
    private func unsentBytes(_ context: ChannelHandlerContext) -> Int {
        (try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
    }

    /// Reports this client's partly received request to the server-wide budget; past it, the clients
    /// with the biggest ones (maybe this one) are closed with `-LIMIT`.
    private func countPartialRequest(context: ChannelHandlerContext) {
        guard let session else { return }
        let bytes = decoder.partialBytes + (pending?.readableBytes ?? 0)
        guard bytes != countedPartialBytes else { return }
        countedPartialBytes = bytes
        for victim in state.countPartialRequest(client: session.id, bytes: bytes) {
            let eviction = PartialRequestEviction(bytes: victim.bytes, budget: flow.limits.partialRequestBudget)
            if victim.client == session.id {
                evict(context: context, eviction)
            } else {
                state.evict(client: victim.client, eviction)
            }
        }
    }

    /// Closes this client with `-LIMIT`: the partial-request budget was exhausted and its partial
    /// request was the biggest.
    private func evict(context: ChannelHandlerContext, _ eviction: PartialRequestEviction) {
        guard machine.close() else { return }
        state.counters.partialRequestEvictions.add(1, ordering: .relaxed)
        let message = eviction.message
        state.noteLimitHit(message, clientID: session?.id)
        // The rest of its request will never be read: give its bytes back now.
        decoder = RequestDecoder(limits: state.configuration.protocolLimits)
        pending = nil
        decoded.removeAll()
        decodeFailure = nil
        var buffer = context.channel.allocator.buffer(capacity: message.utf8.count + 16)
        buffer.writeBytes(CommandError.limit(message).reply.encoded)
        state.metrics.countError(.limit)
        context.write(wrapOutboundOut(buffer), promise: nil)
        closeAfterOutput(context: context)
    }

    /// Sends what is queued, then closes.
    private func closeAfterOutput(context: ChannelHandlerContext) {
        _ = machine.close()
        flow.close()
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0)))
            .whenComplete { _ in channel.close(promise: nil) }
    }

    /// After output was queued: a client whose unsent output passed `output-limit` is disconnected at
    /// once (its queued output is dropped, its references released), and it is logged.
    private func checkOutputLimit(context: ChannelHandlerContext) {
        // A writable channel holds at most its high watermark, `output-pause`, which is below
        // `output-limit` (``ConnectionLimits`` checks it): no need to ask NIO for the exact count, which
        // goes through a chain of dynamic casts of the option (about 1% of a PING's time, once per read).
        if context.channel.isWritable { return }
        let unsent = unsentBytes(context)
        guard flow.outputQueued(unsentOutput: unsent) else { return }
        _ = machine.close()
        state.counters.outputLimitDisconnections.add(1, ordering: .relaxed)
        state.noteLimitHit(
            "client output limit: \(unsent) bytes unsent, over output-limit (\(flow.limits.outputLimit) bytes); disconnected",
            clientID: session?.id)
        context.close(promise: nil)
    }

    // MARK: Outbound

    func read(context: ChannelHandlerContext) {
        if flow.readRequested() { context.read() }
    }

    // MARK: Events

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        checkOutputLimit(context: context)
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        resume(context: context)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        state.logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            // Half-close: the client sent everything; answer what was received, then close.
            if machine.inputClosed(idle: flow.state == .open && nothingReceivedWaits) == .closeAfterOutput {
                closeAfterOutput(context: context)
            }
            return
        }
        if let event = event as? CollectorEventPush {
            // Sent by the collector's thread through this channel's own loop (``ServerState``): written
            // here, in order with the replies, while the session is subscribed.
            guard machine.pushArrived(), let session else { return }
            let bytes = session.protocolVersion == .resp3 ? event.resp3 : event.resp2
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
            checkOutputLimit(context: context)
            return
        }
        if let eviction = event as? PartialRequestEviction {
            evict(context: context, eviction)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

/// Sent to a client's pipeline when the partial-request budget chose it (``PartialRequestBudget``).
struct PartialRequestEviction: Sendable {
    let bytes: Int
    let budget: Int

    var message: String {
        "partial-request-budget (\(budget) bytes across clients) exhausted; this client's partial request of \(bytes) bytes was the biggest"
    }
}

/// A collector event for a subscribed connection, encoded once for all subscribers (``ServerState``):
/// an array in RESP2, a push message in RESP3.
struct CollectorEventPush: Sendable {
    let resp2: [UInt8]
    let resp3: [UInt8]

    init(_ event: Reply) {
        resp2 = event.encoded(.resp2)
        resp3 = event.encoded(.resp3)
    }
}
