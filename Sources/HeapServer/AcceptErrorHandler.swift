import HeapCore
import Logging
import NIOCore

/// On the listening channel, after NIO's `AcceptBackoffHandler`: logs `accept()` failures — out of file
/// descriptors (`EMFILE`, `ENFILE`) or memory — once per ``logInterval`` with how many there were, and
/// counts them for `INFO limits`. The backoff handler has already paused accepting for ``backoff``, so
/// a daemon out of descriptors waits instead of spinning on a listening socket that stays readable.
final class AcceptErrorHandler: ChannelInboundHandler {
    typealias InboundIn = Channel

    /// How long accepting pauses after a failed `accept()`.
    static let backoff = TimeAmount.milliseconds(250)
    /// At most one log entry per interval; the failures in between are counted in the next one.
    static let logInterval: UInt64 = 5_000_000_000

    private let state: ServerState
    private var lastLog: UInt64 = 0
    private var unlogged = 0

    init(state: ServerState) {
        self.state = state
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        state.counters.acceptErrors.add(1, ordering: .relaxed)
        unlogged += 1
        let now = CycleCollector.now()
        guard lastLog == 0 || now &- lastLog >= Self.logInterval else { return }
        lastLog = now
        state.logger.warning(
            "accept failed: \(error); accepting paused for \(Self.backoff.nanoseconds / 1_000_000) ms",
            metadata: [
                ServerLogEvent.metadataKey: "\(ServerLogEvent.limitHit.metadataValue)",
                "limit": "accept: \(error)", "failures": "\(unlogged)",
                "connected_clients": "\(state.connectedClients.load(ordering: .relaxed))",
            ])
        unlogged = 0
    }
}
