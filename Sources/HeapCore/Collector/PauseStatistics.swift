/// Pause figures of one generation's collections: count, total, max and the 99th percentile over the
/// most recent ``window`` pauses.
public struct PauseStatistics: Sendable, Equatable {
    public static let window = 1024
    public private(set) var count = 0
    public private(set) var totalNanoseconds: UInt64 = 0
    public private(set) var maxNanoseconds: UInt64 = 0
    private var recent: [UInt64] = []
    private var next = 0

    public init() {}

    mutating func record(_ nanoseconds: UInt64) {
        count += 1
        totalNanoseconds += nanoseconds
        maxNanoseconds = max(maxNanoseconds, nanoseconds)
        if recent.count < Self.window {
            recent.append(nanoseconds)
        } else {
            recent[next] = nanoseconds
            next = (next + 1) % Self.window
        }
    }

    /// The 99th percentile of the recent pauses (0 when none).
    public var p99Nanoseconds: UInt64 { percentile(99) }

    /// The `percent` percentile of the recent pauses, nearest rank (0 when none): what an HdrHistogram
    /// report lists at 50, 90, 99, 99.9.
    public func percentile(_ percent: Double) -> UInt64 {
        guard !recent.isEmpty else { return 0 }
        let sorted = recent.sorted()
        let rank = Int((Double(sorted.count) * percent / 100).rounded(.up))
        return sorted[min(sorted.count - 1, max(rank, 1) - 1)]
    }

    /// The median of the recent pauses.
    public var medianNanoseconds: UInt64 {
        guard !recent.isEmpty else { return 0 }
        return recent.sorted()[recent.count / 2]
    }
}

/// `gc.get_stats()` for one generation, plus its pauses.
public struct GenerationStatistics: Sendable, Equatable {
    public var collections = 0
    public var collected = 0
    public var uncollectable = 0
    public var pauses = PauseStatistics()
    /// The part of each pause spent waiting for the mutators inside the gate to leave (the stop's
    /// handshake), before the collector's own work starts: what the benchmark reports beside the
    /// pauses, to tell scheduling from collecting.
    public var stopWaits = PauseStatistics()
}
