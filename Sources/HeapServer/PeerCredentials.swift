import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// The process on the other end of a Unix-socket connection (`SO_PEERCRED`): which pid, uid and
/// primary gid opened the session, as the kernel recorded them at `connect()` (they cannot be forged
/// and do not follow later `setuid` calls of the client). The access policy decides the client's role
/// from them; `CLIENT LIST` and the log show them.
struct PeerCredentials: Sendable, Equatable {
    let pid: Int32
    let uid: UInt32
    let gid: UInt32

    /// `struct ucred` (pid_t, uid_t, gid_t); declared here because Glibc exposes it only under _GNU_SOURCE.
    private struct RawCredentials: Sendable {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    /// The credentials of `channel`'s peer, read synchronously on the channel's event loop; nil when
    /// the channel is not a Unix socket or the call fails.
    static func of(_ channel: Channel) -> PeerCredentials? {
        guard channel.eventLoop.inEventLoop, let provider = channel as? SocketOptionProvider else { return nil }
        let future: EventLoopFuture<RawCredentials> = provider.unsafeGetSocketOption(
            level: NIOBSDSocket.OptionLevel(rawValue: SOL_SOCKET), name: NIOBSDSocket.Option(rawValue: SO_PEERCRED))
        // On the event loop the option is read inline, so the future is already complete.
        var result: PeerCredentials?
        future.assumeIsolated().whenSuccess { raw in
            result = PeerCredentials(pid: raw.pid, uid: raw.uid, gid: raw.gid)
        }
        return result
    }
}
