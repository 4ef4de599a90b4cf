/// `GROWTH`: objgraph's `show_growth`. Remembers the highest count each type ever had and, given a new
/// census, reports the types that rose above it.
///
/// The first census reports every type (every peak starts at zero). A type that shrinks and grows
/// back to its old peak is not reported again: only new highs are, which is what points at a leak
/// (something that grows every time the same work is repeated).
public struct TypeGrowthTracker: Sendable {
    /// A type that reached a new peak: its count now and how far above the previous peak.
    public struct Growth: Sendable, Equatable {
        public let name: String
        public let count: Int
        public let delta: Int

        public init(name: String, count: Int, delta: Int) {
            self.name = name
            self.count = count
            self.delta = delta
        }
    }

    private var peaks: [String: Int] = [:]

    public init() {}

    /// Updates every peak from `census` and returns the types above their previous peak, largest
    /// growth first, ties by name.
    public mutating func update(with census: [TypeCount]) -> [Growth] {
        var grown: [Growth] = []
        for entry in census {
            let peak = peaks[entry.name, default: 0]
            guard entry.count > peak else { continue }
            peaks[entry.name] = entry.count
            grown.append(Growth(name: entry.name, count: entry.count, delta: entry.count - peak))
        }
        return grown.sorted { $0.delta != $1.delta ? $0.delta > $1.delta : $0.name < $1.name }
    }
}
