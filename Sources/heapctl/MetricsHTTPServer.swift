import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix

/// The HTTP/1.1 side of `heapctl metrics --listen`: one event loop, `GET /metrics` answered from a fresh
/// `METRICS` scrape made on a thread-pool thread (heapctl's client blocks; the loop must not).
enum MetricsHTTPServer {
    /// Serves until the process is stopped (a signal); returns only when binding fails (`unavailable`).
    static func serve(host: String, port: Int, endpoint: Endpoint) -> ExitStatus {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(endpoint: endpoint, pool: pool))
                }
            }
        do {
            let channel = try bootstrap.bind(host: host, port: port).wait()
            let bound = channel.localAddress?.port ?? port
            let shown = host.contains(":") ? "[\(host)]" : host
            Console.write(
                "heapctl metrics: serving http://\(shown):\(bound)/metrics for heapd at \(endpoint.socketPath)\n")
            try channel.closeFuture.wait()
            return .success
        } catch {
            Console.error("heapctl metrics: cannot listen on \(host):\(port): \(error)")
            try? pool.syncShutdownGracefully()
            try? group.syncShutdownGracefully()
            return .unavailable
        }
    }
}

/// Answers one HTTP request at a time (NIO's pipelining handler holds the next one back).
final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// What Prometheus's text exposition format is served as.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private let endpoint: Endpoint
    private let pool: NIOThreadPool
    private var head: HTTPRequestHead?

    init(endpoint: Endpoint, pool: NIOThreadPool) {
        self.endpoint = endpoint
        self.pool = pool
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        guard path == "/metrics" else {
            return send(.notFound, "not found: heapctl serves /metrics\n", to: head, context: context)
        }
        guard head.method == .GET || head.method == .HEAD else {
            return send(.methodNotAllowed, "only GET and HEAD\n", to: head, context: context)
        }
        let endpoint = endpoint
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        pool.runIfActive(eventLoop: context.eventLoop) { MetricsCommand.scrape(endpoint) }.whenComplete { result in
            let (handler, context) = bound.value
            switch result {
            case .success(.success(let text)):
                handler.send(.ok, text, contentType: Self.contentType, to: head, context: context)
            case .success(.failure(let failure)):
                handler.send(.serviceUnavailable, "heapd: \(failure.message)\n", to: head, context: context)
            case .failure(let error):
                handler.send(.serviceUnavailable, "heapctl: \(error)\n", to: head, context: context)
            }
        }
    }

    private func send(
        _ status: HTTPResponseStatus, _ text: String, contentType: String = "text/plain; charset=utf-8",
        to request: HTTPRequestHead, context: ChannelHandlerContext
    ) {
        let body = context.channel.allocator.buffer(string: text)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        if !request.isKeepAlive { headers.add(name: "Connection", value: "close") }
        let response = HTTPResponseHead(version: request.version, status: status, headers: headers)
        context.write(wrapOutboundOut(.head(response)), promise: nil)
        if request.method != .HEAD { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !request.isKeepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
