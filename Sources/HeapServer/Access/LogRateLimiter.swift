/// Decides whether an event that repeats is worth a log line now: at most one per interval, the ones
/// left out counted and reported with the next line that is written ("… (41 more suppressed)").
///
/// A pure value with no clock (the caller passes monotonic nanoseconds), like ``ReporterSchedule``
/// in HeapSystemd, so it is tested without waiting.
struct LogRateLimiter: Sendable {
    let intervalNanoseconds: UInt64
    private var lastLogged: UInt64?
    private var suppressed = 0

    init(intervalNanoseconds: UInt64 = 1_000_000_000) {
        self.intervalNanoseconds = intervalNanoseconds
    }

    /// Called for each event at `now`: the number of events suppressed since the last line when this one
    /// should be logged, nil when it should be counted and left out.
    mutating func admit(now: UInt64) -> Int? {
        if let lastLogged, now &- lastLogged < intervalNanoseconds {
            suppressed += 1
            return nil
        }
        defer {
            lastLogged = now
            suppressed = 0
        }
        return suppressed
    }
}
