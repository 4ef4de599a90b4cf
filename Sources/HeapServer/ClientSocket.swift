import Foundation
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// A client's socket descriptor, so a long command can notice at its safepoints that its client hung
/// up: NIO reports a hang-up only on the event loop, which the command itself is blocking.
///
/// NIO does not expose an accepted channel's descriptor; its description names it (`fd=12`). That
/// number is trusted only if the socket behind it is the channel's own: both must report the same
/// `SO_COOKIE`, a 64-bit id the kernel gives each socket once. The descriptor cannot change under a
/// running command: NIO closes it on the channel's event loop, which the command is running on.
struct ClientSocket: Sendable {
    let descriptor: Int32

    /// Linux's `SO_COOKIE` (asm-generic/socket.h); Glibc does not export it.
    private static let soCookie: Int32 = 57

    /// The channel's descriptor, verified; nil when it cannot be found or verified (hang-ups are then
    /// noticed only when the command ends). Call on the channel's event loop.
    init?(channel: Channel) {
        let description = String(describing: channel)
        guard channel.eventLoop.inEventLoop, let provider = channel as? SocketOptionProvider,
            let range = description.range(of: "fd="),
            let fd = Int32(description[range.upperBound...].prefix(while: { $0.isNumber }))
        else { return nil }
        var expected: UInt64?
        let future: EventLoopFuture<UInt64> = provider.unsafeGetSocketOption(
            level: NIOBSDSocket.OptionLevel(rawValue: SOL_SOCKET), name: NIOBSDSocket.Option(rawValue: Self.soCookie))
        // On the event loop the option is read inline, so the future is already complete.
        future.assumeIsolated().whenSuccess { expected = $0 }
        var cookie: UInt64 = 0
        var length = socklen_t(MemoryLayout<UInt64>.size)
        guard let expected, expected != 0, getsockopt(fd, SOL_SOCKET, Self.soCookie, &cookie, &length) == 0,
            cookie == expected
        else { return nil }
        descriptor = fd
    }

    /// Whether the peer closed its end (both directions: a client that only shut down its sending
    /// side still waits for its replies). One non-blocking `poll()`.
    var hungUp: Bool {
        var entry = pollfd(fd: descriptor, events: 0, revents: 0)
        guard poll(&entry, 1, 0) == 1 else { return false }
        return entry.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0
    }
}
