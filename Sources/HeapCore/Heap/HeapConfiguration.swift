/// Sizing of a heap, fixed when it is created.
public struct HeapConfiguration: Sendable, Equatable {
    /// The most objects alive at once: the handle table's capacity (its address space is reserved up
    /// front, 16 bytes an entry, and backed by memory only as slots are used).
    public var maxObjects: Int
    /// Allocator and slot-list shards; mutator threads pick one each so they rarely share a lock.
    public var shardCount: Int
    /// The memory cap in bytes (``MemoryBudget``): arenas and large payloads the allocator may hold
    /// from the OS; 0 means none. heapd's default is a share of the cgroup's or the machine's memory.
    public var maxMemory: Int
    /// The mark-alive work per stop of an automatic full collection, in microseconds
    /// (``CycleCollector/markStepNanoseconds``); 0 marks in the collection's one stop.
    public var markStepMicroseconds: Int

    public init(maxObjects: Int = 1 << 26, shardCount: Int = 8, maxMemory: Int = 0, markStepMicroseconds: Int = 1000) {
        self.maxObjects = max(16, maxObjects)
        self.shardCount = max(1, shardCount)
        self.maxMemory = max(0, maxMemory)
        self.markStepMicroseconds = max(0, markStepMicroseconds)
    }
}
