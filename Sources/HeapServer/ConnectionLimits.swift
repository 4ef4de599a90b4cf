/// What one client may cost heapd, and how long one command may run: the limits that keep a slow,
/// buggy or hostile client from exhausting the daemon or freezing the others (protocol.md §1 Limits).
///
/// How the output limits fit together, for a client that sends requests and never reads:
///
///     unsent output  0 ──────── outputPause ─────────────────────────── outputLimit
///                    executing  │ paused: its requests wait, nothing is read
///                               └─ at most one more reply (≤ maxReply) lands here
///
/// heapd stops executing and reading a client's requests once its unsent output reaches
/// ``outputPause``, and resumes when the client has read it down to a quarter of that. A reply bigger
/// than ``maxReply`` is refused with `LIMIT` before it is queued. So replies alone stay under
/// `outputPause + maxReply`, which must not exceed ``outputLimit``: only events pushed to a client in
/// `GC SUBSCRIBE` mode that does not read can pass it, and that client is disconnected (as Redis's
/// `client-output-buffer-limit` does for pub/sub clients).
public struct ConnectionLimits: Sendable, Equatable {
    /// Unsent output (bytes) at which a client's requests stop being read and executed.
    public var outputPause: Int
    /// Largest reply, in bytes on the wire; a bigger one is answered `-LIMIT`.
    public var maxReply: Int
    /// Unsent output (bytes) past which a client is disconnected and its references released.
    public var outputLimit: Int
    /// Bytes of partly received requests, summed over every client; past it the client with the
    /// biggest partial request gets `-LIMIT` and is closed.
    public var partialRequestBudget: Int
    /// Longest a single command may run, in milliseconds, before it is stopped with `-LIMIT`;
    /// 0 for no limit.
    public var commandTimeLimitMilliseconds: Int

    /// Redis's `proto-max-bulk-len` sized budget: one maximal bulk fits, several do not.
    public static let defaultPartialRequestBudget = 1 << 30
    /// Redis's `busy-reply-threshold`. A command blocks its event loop while it runs; the watchdog
    /// (`WatchdogSec=10s`) fails a check only for a loop silent 2.5 s past the check's start, and kills
    /// only after 10 s without a passed check, so a 5 s command cannot get heapd killed.
    public static let defaultCommandTimeLimitMilliseconds = 5_000

    public init(
        outputPause: Int = 1 << 20, maxReply: Int = 16 << 20, outputLimit: Int = 32 << 20,
        partialRequestBudget: Int = Self.defaultPartialRequestBudget,
        commandTimeLimitMilliseconds: Int = Self.defaultCommandTimeLimitMilliseconds
    ) {
        self.outputPause = outputPause
        self.maxReply = maxReply
        self.outputLimit = outputLimit
        self.partialRequestBudget = partialRequestBudget
        self.commandTimeLimitMilliseconds = commandTimeLimitMilliseconds
    }

    public static let `default` = ConnectionLimits()

    /// Why these limits cannot work together, or nil when they can.
    public var problem: String? {
        if outputPause < 4096 { return "output-pause must be at least 4096 bytes" }
        if maxReply < 1024 { return "max-reply must be at least 1024 bytes" }
        if outputPause + maxReply > outputLimit {
            return
                "output-pause (\(outputPause)) + max-reply (\(maxReply)) must not exceed output-limit (\(outputLimit))"
        }
        if partialRequestBudget < 65536 { return "partial-request-budget must be at least 65536 bytes" }
        if commandTimeLimitMilliseconds < 0 { return "command-time-limit must be 0 (none) or a number of milliseconds" }
        return nil
    }

    /// Unsent output at which a paused client resumes (NIO's low watermark).
    public var outputResume: Int { max(1, outputPause / 4) }
}
