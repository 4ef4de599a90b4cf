import HeapCore

/// The few figures an operator glances at — objects, bytes, clients, collections and pauses — as
/// one cheap snapshot (systemd's `STATUS=` line shows them; `INFO` has the full picture).
public struct ServerStatistics: Sendable, Equatable {
    /// Live objects (the immortal singletons not counted).
    public var objects: Int
    /// Bytes the objects cost, as `INFO memory` reports `used_bytes`.
    public var bytesInUse: Int
    /// Clients connected now.
    public var clients: Int
    /// Collections completed, per generation (0, 1, 2).
    public var collectionsPerGeneration: [Int]
    /// The pause of the most recent collection, nil before the first.
    public var lastPauseNanoseconds: UInt64?
    /// The longest pause of any collection since start (0 before the first).
    public var worstPauseNanoseconds: UInt64

    public init(
        objects: Int, bytesInUse: Int, clients: Int, collectionsPerGeneration: [Int],
        lastPauseNanoseconds: UInt64?, worstPauseNanoseconds: UInt64
    ) {
        self.objects = objects
        self.bytesInUse = bytesInUse
        self.clients = clients
        self.collectionsPerGeneration = collectionsPerGeneration
        self.lastPauseNanoseconds = lastPauseNanoseconds
        self.worstPauseNanoseconds = worstPauseNanoseconds
    }
}

extension HeapServer {
    /// A snapshot of the server's headline figures; cheap enough to take every second.
    public func statistics() -> ServerStatistics {
        let heapStatistics = heap.statistics()
        let collector = heap.collector
        let generations = collector.statistics
        return ServerStatistics(
            objects: heapStatistics.objects, bytesInUse: heapStatistics.bytesInUse,
            clients: connectedClients, collectionsPerGeneration: generations.map(\.collections),
            lastPauseNanoseconds: collector.lastCollection?.pauseNanoseconds,
            worstPauseNanoseconds: generations.map(\.pauses.maxNanoseconds).max() ?? 0)
    }
}
