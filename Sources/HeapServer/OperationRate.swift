import HeapCore

/// `INFO`'s `instantaneous_ops_per_sec`: commands per second between two readings at least 100 ms
/// apart, as Redis reports it for `redis-cli --stat` (which reads `INFO` once a second). Read lazily, at
/// `INFO` time, so heapd keeps no timer for it: the figure covers the interval since the last reading.
final class OperationRate: Sendable {
    private let last = LockedValue<(nanoseconds: UInt64, commands: Int, rate: Int)>((0, 0, 0))

    /// The rate after `commands` commands in total, now.
    func reading(commands: Int, now: UInt64 = CycleCollector.now()) -> Int {
        last.withLock { last in
            guard now >= last.nanoseconds + 100_000_000 else { return last.rate }
            if last.nanoseconds > 0 {
                let seconds = Double(now - last.nanoseconds) / 1e9
                last.rate = Int((Double(commands - last.commands) / seconds).rounded())
            }
            last.nanoseconds = now
            last.commands = commands
            return last.rate
        }
    }
}
