/// How many clients the process's descriptor limit (`RLIMIT_NOFILE`) leaves room for, as Redis's
/// `adjustOpenFilesLimit` decides it: raise the soft limit toward what the clients need, and if even
/// the hard limit is short, serve fewer clients rather than run out of descriptors.
///
/// A daemon out of descriptors cannot even accept a connection to refuse it: the client waits in the
/// listen backlog with no reply. Below the limit, an extra client is accepted, told `-LIMIT` and closed.
struct DescriptorBudget: Equatable {
    /// Descriptors kept for everything but clients: the listening socket, stdio, each event loop's
    /// (the accepting one's too) epoll, eventfd and timerfd, the journal, a snapshot file being dumped or loaded, /proc reads,
    /// and a margin for clients being refused (Redis keeps 32 as well).
    static let reserve = 32

    /// The soft limit to ask for (nil: keep the current one).
    let softLimitWanted: UInt64?
    /// The most clients to serve with a soft limit of `soft` descriptors.
    static func maxClients(requested: Int, soft: UInt64) -> Int {
        let room = soft > UInt64(reserve) ? Int(clamping: soft - UInt64(reserve)) : 1
        return max(1, min(requested, room))
    }

    /// What to ask for, with `requested` clients and the current limits.
    init(requested: Int, soft: UInt64, hard: UInt64) {
        let (needed, overflow) = UInt64(max(1, requested)).addingReportingOverflow(UInt64(Self.reserve))
        let wanted = overflow ? hard : min(needed, hard)
        softLimitWanted = wanted > soft ? wanted : nil
    }
}
