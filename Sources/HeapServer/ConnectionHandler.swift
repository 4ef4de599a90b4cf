import HeapCore
import HeapProtocol
import Logging
import NIOCore

/// The per-connection pipeline stage: frames requests, runs them in the session, writes replies.
///
/// Synchronous on purpose (see reference/swift-server-notes.md): replies are written as each request
/// completes and flushed once per read burst, which is what lets pipelined clients reach Redis's rates.
/// Requests of one burst run inside the heap's gate in chunks, so a collection waits at most one chunk.
final class ConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Requests run per acquisition of the gate before it is released for a waiting collector.
    static let requestsPerGateHold = 64

    private let state: ServerState
    private var session: Session?
    private var decoder: RequestDecoder
    private var pending: ByteBuffer?
    private var closing = false

    init(state: ServerState) {
        self.state = state
        decoder = RequestDecoder(limits: state.configuration.protocolLimits)
    }

    func channelActive(context: ChannelHandlerContext) {
        guard let session = state.openSession(channel: context.channel) else {
            state.noteLimitHit("max number of clients reached (\(state.configuration.maxClients))", clientID: nil)
            let reply = Reply.error(
                code: "LIMIT", message: "max number of clients reached (\(state.configuration.maxClients))")
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(bytes: reply.encoded)))
                .whenComplete { _ in channel.close(promise: nil) }
            closing = true
            return
        }
        self.session = session
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
        state.closeSession(session)
        state.logger.debug(
            "client gone",
            metadata: [
                "client_id": "\(session.id)", "commands": "\(session.commandsProcessed)",
                ServerLogEvent.metadataKey: "\(ServerLogEvent.clientGone.metadataValue)",
            ])
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing, let session else { return }
        var incoming = unwrapInboundIn(data)
        if pending == nil || pending!.readableBytes == 0 {
            pending = incoming
        } else {
            pending!.writeBuffer(&incoming)
        }
        var output = context.channel.allocator.buffer(capacity: 256)
        var bytes: [UInt8] = []
        var processed = 0
        var closeAfterWrite = false
        parsing: while !closeAfterWrite {
            let (requests, failure) = decodeChunk()
            if requests.isEmpty && failure == nil { break parsing }
            var index = 0
            while index < requests.count {
                state.heap.gate.shared {
                    while index < requests.count {
                        let reply = CommandTable.execute(requests[index], in: session)
                        index += 1
                        processed += 1
                        if session.deferred != nil { break }
                        reply.encode(into: &bytes)
                        if case .error("LIMIT", let message) = reply {
                            state.noteLimitHit(message, clientID: session.id)
                        }
                        if session.wantsClose {
                            index = requests.count
                            break
                        }
                    }
                }
                if let deferred = session.deferred {
                    // GC COLLECT, DEBUG VERIFY and friends need the world stopped or the collector
                    // thread: run them between gate holds, in request order.
                    session.deferred = nil
                    let reply = deferred()
                    reply.encode(into: &bytes)
                    if case .error("LIMIT", let message) = reply { state.noteLimitHit(message, clientID: session.id) }
                }
            }
            if session.wantsClose { closeAfterWrite = true }
            if let failure {
                failure.reply.encode(into: &bytes)
                if case .error("LIMIT", let message) = failure.reply {
                    state.noteLimitHit(message, clientID: session.id)
                }
                if failure.closesConnection { closeAfterWrite = true }
            }
            output.writeBytes(bytes)
            bytes.removeAll(keepingCapacity: true)
        }
        state.totalCommands.add(processed, ordering: .relaxed)
        if output.readableBytes > 0 {
            context.write(wrapOutboundOut(output), promise: nil)
        }
        if pending?.readableBytes == 0 { pending = nil } else { pending?.discardReadBytes() }
        if closeAfterWrite {
            closing = true
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0)))
                .whenComplete { _ in channel.close(promise: nil) }
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

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        state.logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            // Half-close: the client sent everything; answer what is pending, then close.
            context.flush()
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
