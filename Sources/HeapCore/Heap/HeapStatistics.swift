/// The heap's accounting, as `INFO memory` and `INFO objects` report it.
public struct HeapStatistics: Sendable {
    /// Live objects per kind (the immortal singletons are not counted).
    public var objectsByKind: [ObjectKind: Int] = [:]
    /// Bytes per kind: object blocks plus their payloads (item arrays, hash tables), as allocated.
    public var bytesByKind: [ObjectKind: Int] = [:]
    /// The allocator's own counters: blocks per size class, pools, arenas, large payloads.
    public var allocator = AllocatorStatistics()
    /// Handle-table slots ever used (each costs 16 bytes, counted in ``handleTableBytes``).
    public var slotsEverUsed = 0
    /// Tracked containers per collector generation (0, 1, 2, permanent).
    public var generationLengths: [Int] = [0, 0, 0, 0]
    /// CPython's per-generation counts (see ``GenerationLists``).
    public var generationCounts: [Int] = [0, 0, 0]

    public var objects: Int { objectsByKind.values.reduce(0, +) }
    public var objectBytes: Int { bytesByKind.values.reduce(0, +) }
    public var handleTableBytes: Int { slotsEverUsed * 16 }
    /// Everything the heap's objects cost: blocks, payloads and their handle-table entries.
    public var bytesInUse: Int { objectBytes + objects * 16 }
}

extension Heap {
    /// A snapshot of the counters; cheap enough to call for every `INFO`.
    public func statistics() -> HeapStatistics {
        var result = HeapStatistics()
        for (kind, totals) in counters.totals() where kind != .none && kind != .bool {
            result.objectsByKind[kind] = totals.objects
            result.bytesByKind[kind] = totals.bytes
        }
        result.allocator = allocator.statistics()
        result.slotsEverUsed = table.slotsEverUsed
        generations.lock.withLock {
            result.generationLengths = generations.lengthArray
            result.generationCounts = generations.countArray
        }
        return result
    }
}
