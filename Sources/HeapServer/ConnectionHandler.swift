import HeapCore
import HeapProtocol
import Logging
import NIOCore

/// The per-connection pipeline stage: frames requests, runs them in the session, writes replies.
///
/// Synchronous on purpose (see reference/swift-server-notes.md): replies are written as each request
/// completes and flushed once per read burst, which is what lets pipelined clients reach Redis's rates.
/// Requests of one burst run inside the heap's gate in chunks, so a collection waits at most one chunk.
///
/// What a client may cost is bounded here, by the rules of ``ConnectionFlow``: its requests stop being
/// executed and read while its unsent output is past `output-pause` (they wait, decoded or not, in
/// this handler), a reply over `max-reply` becomes `-LIMIT`, output past `output-limit` disconnects it,
/// and its partly received request counts against the server-wide `partial-request-budget`.
final class ConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Requests run per acquisition of the gate before it is released for a waiting collector.
    static let requestsPerGateHold = 64

    private let state: ServerState
    private var session: Session?
    private var decoder: RequestDecoder
    /// Bytes received and not yet decoded.
    private var pending: ByteBuffer?
    /// Requests decoded and not yet executed (the flow paused in the middle of a chunk), and the framing
    /// error found after them, reported once they have run.
    private var decoded: ArraySlice<Request> = []
    private var decodeFailure: ProtocolError?
    private var flow: ConnectionFlow
    /// What this client is counted for in the partial-request budget.
    private var countedPartialBytes = 0
    /// The client shut down its sending side: close once everything received is answered.
    private var inputClosed = false
    /// A command's reply comes later (``Session/awaited``): nothing more of this client runs until it is
    /// sent; `cancelAwaited` completes it at once if the client goes first.
    private var awaitingReply = false
    private var cancelAwaited: (() -> Void)?

    init(state: ServerState) {
        self.state = state
        decoder = RequestDecoder(limits: state.configuration.protocolLimits)
        flow = ConnectionFlow(limits: state.configuration.connectionLimits)
    }

    func channelActive(context: ChannelHandlerContext) {
        guard let session = state.openSession(channel: context.channel) else {
            state.noteLimitHit("max number of clients reached (\(state.configuration.maxClients))", clientID: nil)
            let reply = Reply.error(
                code: "LIMIT", message: "max number of clients reached (\(state.configuration.maxClients))")
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(bytes: reply.encoded)))
                .whenComplete { _ in channel.close(promise: nil) }
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
        cancelAwaited?()
        cancelAwaited = nil
        flow.close()
        // A long command in progress is not wanted any more: what it holds is released first.
        session.running?.clientLeft()
        session.running = nil
        state.closeSession(session)
        state.logger.debug(
            "client gone",
            metadata: [
                "client_id": "\(session.id)", "commands": "\(session.commandsProcessed)",
                ServerLogEvent.metadataKey: "\(ServerLogEvent.clientGone.metadataValue)",
            ])
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard flow.state != .closing, session != nil else { return }
        var incoming = unwrapInboundIn(data)
        if pending == nil || pending!.readableBytes == 0 {
            pending = incoming
        } else {
            pending!.writeBuffer(&incoming)
        }
        execute(context: context)
    }

    /// Executes what was received, as far as the flow allows, and queues the replies.
    private func execute(context: ChannelHandlerContext) {
        guard let session else { return }
        guard session.running == nil else {
            // A long command runs (``step(context:)``): what arrives waits for its reply, counted.
            countPartialRequest(context: context)
            return
        }
        var output = context.channel.allocator.buffer(capacity: 256)
        var bytes: [UInt8] = []
        var processed = 0
        var closeAfterWrite = false
        let queued = unsentBytes(context)
        parsing: while !closeAfterWrite && !awaitingReply {
            if decoded.isEmpty && decodeFailure == nil {
                let (requests, failure) = decodeChunk()
                if requests.isEmpty && failure == nil { break parsing }
                decoded = requests[...]
                decodeFailure = failure
            }
            guard flow.mayExecute(unsentOutput: queued + output.readableBytes + bytes.count) else { break parsing }
            if !decoded.isEmpty {
                state.heap.gate.shared {
                    while let request = decoded.first,
                        flow.mayExecute(unsentOutput: queued + output.readableBytes + bytes.count)
                    {
                        decoded.removeFirst()
                        let reply = CommandTable.execute(request, in: session)
                        processed += 1
                        if session.deferred != nil || session.awaited != nil || session.running != nil { break }
                        append(reply, to: &bytes, session: session)
                        if session.wantsClose {
                            decoded = []
                            decodeFailure = nil
                            break
                        }
                    }
                }
                if let deferred = session.deferred {
                    // GC COLLECT, DEBUG VERIFY and friends need the world stopped or the collector
                    // thread: run them between gate holds, in request order.
                    session.deferred = nil
                    append(deferred(), to: &bytes, session: session)
                }
                if let running = session.running {
                    // A long command (SteppedCommand): its first step now, the others after each turn
                    // of the event loop, so the loop's other clients are served in between.
                    guard let reply = running.advance() else {
                        scheduleStep(context: context)
                        break parsing
                    }
                    session.running = nil
                    append(reply, to: &bytes, session: session)
                }
                if session.wantsClose { closeAfterWrite = true }
                if let awaited = session.awaited {
                    session.awaited = nil
                    awaitReply(awaited, context: context)
                }
            }
            if decoded.isEmpty, let failure = decodeFailure {
                decodeFailure = nil
                append(failure.reply, to: &bytes, session: session)
                if failure.closesConnection { closeAfterWrite = true }
            }
            output.writeBytes(bytes)
            bytes.removeAll(keepingCapacity: true)
        }
        output.writeBytes(bytes)
        state.totalCommands.add(processed, ordering: .relaxed)
        if output.readableBytes > 0 {
            context.write(wrapOutboundOut(output), promise: nil)
        }
        if pending?.readableBytes == 0 { pending = nil } else { pending?.discardReadBytes() }
        if closeAfterWrite {
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
        } else if inputClosed && !awaitingReply && session.running == nil && decoded.isEmpty
            && (pending?.readableBytes ?? 0) == 0
        {
            closeAfterOutput(context: context)
        }
    }

    /// Holds this client's requests until `awaited` completes (on this channel's event loop), then sends
    /// its reply and goes on with what was received meanwhile. Other clients of the loop run as usual.
    private func awaitReply(_ awaited: AwaitedReply, context: ChannelHandlerContext) {
        awaitingReply = true
        cancelAwaited = awaited.cancel
        awaited.future.assumeIsolated().whenComplete { result in
            self.awaitingReply = false
            self.cancelAwaited = nil
            guard let session = self.session, self.flow.state != .closing else { return }
            var bytes: [UInt8] = []
            let reply: Reply
            switch result {
            case .success(let value): reply = value
            case .failure(let error): reply = .error(code: "CANCELLED", message: "\(error)")
            }
            self.append(reply, to: &bytes, session: session)
            context.write(self.wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
            self.execute(context: context)
            context.flush()
            if self.flow.releaseHeldRead() { context.read() }
        }
    }

    /// Runs the next step of the session's long command after the loop polled its sockets.
    private func scheduleStep(context: ChannelHandlerContext) {
        let pause = session?.running?.pauseBeforeNextStep ?? LoopSteps.pause
        LoopSteps.current.enqueue(on: context.eventLoop, after: pause) { self.step(context: context) }
    }

    /// One step of the session's long command; once it replies, the requests that arrived meanwhile run.
    private func step(context: ChannelHandlerContext) {
        guard let session, let running = session.running else { return }
        guard let reply = running.advance() else {
            scheduleStep(context: context)
            return
        }
        session.running = nil
        var bytes: [UInt8] = []
        append(reply, to: &bytes, session: session)
        var output = context.channel.allocator.buffer(capacity: bytes.count)
        output.writeBytes(bytes)
        context.write(wrapOutboundOut(output), promise: nil)
        execute(context: context)
        context.flush()
        checkOutputLimit(context: context)
    }

    /// The flow may open again: execute what waits, then read again if NIO asked to meanwhile.
    private func resume(context: ChannelHandlerContext) {
        guard flow.writable(context.channel.isWritable) == .execute else { return }
        execute(context: context)
        context.flush()
        if flow.releaseHeldRead() { context.read() }
    }

    /// Queues `reply`, or `-LIMIT` in its place when it is bigger than `max-reply`.
    private func append(_ reply: Reply, to bytes: inout [UInt8], session: Session) {
        var reply = reply
        let size = reply.encodedSize
        if !flow.replyAllowed(size: size) {
            state.counters.repliesRefused.add(1, ordering: .relaxed)
            reply = .error(
                code: "LIMIT",
                message:
                    "reply of \(size) bytes exceeds max-reply (\(flow.limits.maxReply) bytes); ask for less (LIMIT n, COUNT n, a smaller DEPTH)"
            )
        }
        reply.encode(into: &bytes)
        if case .error("LIMIT", let message) = reply {
            state.noteLimitHit(message, clientID: session.id)
        }
    }

    /// Decodes up to ``requestsPerGateHold`` requests from the pending bytes, stopping at a framing error.
    private func decodeChunk() -> ([Request], ProtocolError?) {
        var requests: [Request] = []
        guard var buffer = pending else { return ([], nil) }
        defer { pending = buffer }
        while requests.count < Self.requestsPerGateHold, buffer.readableBytes > 0 {
            let step = buffer.withUnsafeReadableBytes { decoder.decode($0) }
            switch step {
            case .needMoreData(let consumed):
                buffer.moveReaderIndex(forwardBy: consumed)
                return (requests, nil)
            case .request(let request, let consumed):
                buffer.moveReaderIndex(forwardBy: consumed)
                requests.append(request)
                if let name = request.arguments.first, name.count == 4,
                    String(decoding: name, as: UTF8.self).uppercased() == "QUIT"
                {
                    return (requests, nil)
                }
            case .failure(let error, let consumed):
                buffer.moveReaderIndex(forwardBy: consumed)
                state.rejections.note(code: error.code, clientID: session?.id, "protocol error: \(error.message)")
                return (requests, error)
            }
        }
        return (requests, nil)
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
        guard flow.state != .closing else { return }
        state.counters.partialRequestEvictions.add(1, ordering: .relaxed)
        let message = eviction.message
        state.noteLimitHit(message, clientID: session?.id)
        // The rest of its request will never be read: give its bytes back now.
        decoder = RequestDecoder(limits: state.configuration.protocolLimits)
        pending = nil
        decoded = []
        var buffer = context.channel.allocator.buffer(capacity: message.utf8.count + 16)
        buffer.writeBytes(Reply.error(code: "LIMIT", message: message).encoded)
        context.write(wrapOutboundOut(buffer), promise: nil)
        closeAfterOutput(context: context)
    }

    /// Sends what is queued, then closes.
    private func closeAfterOutput(context: ChannelHandlerContext) {
        flow.close()
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0)))
            .whenComplete { _ in channel.close(promise: nil) }
    }

    /// After output was queued: a client whose unsent output passed `output-limit` is disconnected at
    /// once (its queued output is dropped, its references released), and it is logged.
    private func checkOutputLimit(context: ChannelHandlerContext) {
        let unsent = unsentBytes(context)
        guard flow.outputQueued(unsentOutput: unsent) else { return }
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

    /// Everything written from outside this handler (events pushed to a subscribed client) passes
    /// here and counts against the output limit.
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(data, promise: promise)
        checkOutputLimit(context: context)
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
            inputClosed = true
            if flow.state == .open && !awaitingReply && session?.running == nil && decoded.isEmpty
                && (pending?.readableBytes ?? 0) == 0
            {
                closeAfterOutput(context: context)
            }
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
