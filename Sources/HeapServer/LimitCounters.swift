import Synchronization

/// What the limits did since start, for `INFO limits`: how often each one refused, cut off or stopped
/// something. Relaxed counters: figures for an operator, not synchronization.
final class LimitCounters: Sendable {
    /// Replies replaced by `-LIMIT` because they were bigger than `max-reply`.
    let repliesRefused = Atomic<Int>(0)
    /// Clients disconnected for unsent output past `output-limit`.
    let outputLimitDisconnections = Atomic<Int>(0)
    /// Clients closed because the partial-request budget was exhausted and theirs was the biggest.
    let partialRequestEvictions = Atomic<Int>(0)
    /// Commands stopped past `command-time-limit`.
    let commandsTimedOut = Atomic<Int>(0)
    /// Commands stopped because their client disconnected or heapd was shutting down.
    let commandsCancelled = Atomic<Int>(0)
    /// Times a running command left the heap's gate at a safepoint for a stop of the world.
    let safepointYields = Atomic<Int>(0)
    /// `accept()` failures (out of file descriptors) that paused accepting.
    let acceptErrors = Atomic<Int>(0)
}
