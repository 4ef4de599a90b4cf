import Synchronization

/// Objects and bytes per object kind, kept per shard so that threads do not share cache lines.
///
/// A thread counts an allocation and a free in the shard it runs on, whichever shard allocated the
/// object; a shard's figures can therefore go negative, and only their sum means anything.
final class KindCounters: @unchecked Sendable {
    /// Per shard: count and bytes for each kind, padded to whole cache lines.
    private static let stride = 32
    private let cells: UnsafeMutablePointer<Atomic<Int>>
    private let shardCount: Int

    init(shardCount: Int) {
        // Two cells per kind (count, bytes) indexed by raw value: a new kind must still fit the stride.
        precondition(ObjectKind.allCases.count * 2 <= Self.stride, "KindCounters.stride too small for ObjectKind")
        self.shardCount = shardCount
        // Whole cache-line pairs per shard (the CPU prefetches a line's neighbour with it), from an
        // aligned start: one shard's row must share no line with another's or with a malloc neighbour.
        cells = UnsafeMutableRawPointer.allocate(byteCount: shardCount * Self.stride * 8, alignment: 128)
            .bindMemory(to: Atomic<Int>.self, capacity: shardCount * Self.stride)
        for index in 0..<(shardCount * Self.stride) { (cells + index).initialize(to: Atomic<Int>(0)) }
    }

    deinit {
        cells.deinitialize(count: shardCount * Self.stride)
        cells.deallocate()
    }

    @inline(__always)
    func add(kind: ObjectKind, bytes: Int, shard: Int) {
        let base = (shard % shardCount) * Self.stride + Int(kind.rawValue) * 2
        cells[base].wrappingAdd(1, ordering: .relaxed)
        cells[base + 1].wrappingAdd(bytes, ordering: .relaxed)
    }

    @inline(__always)
    func remove(kind: ObjectKind, bytes: Int, shard: Int) {
        let base = (shard % shardCount) * Self.stride + Int(kind.rawValue) * 2
        cells[base].wrappingSubtract(1, ordering: .relaxed)
        cells[base + 1].wrappingSubtract(bytes, ordering: .relaxed)
    }

    /// Adds `bytes` of payload (item arrays, hash tables) to a kind without changing its object count.
    @inline(__always)
    func adjust(kind: ObjectKind, bytes: Int, shard: Int) {
        let base = (shard % shardCount) * Self.stride + Int(kind.rawValue) * 2
        cells[base + 1].wrappingAdd(bytes, ordering: .relaxed)
    }

    /// Adds a batch's objects and bytes per kind (indexed by raw value) in one update per kind.
    func add(objects: UnsafeBufferPointer<Int>, bytes: UnsafeBufferPointer<Int>, shard: Int) {
        let base = (shard % shardCount) * Self.stride
        for kind in 0..<min(objects.count, bytes.count) where objects[kind] != 0 || bytes[kind] != 0 {
            cells[base + kind * 2].wrappingAdd(objects[kind], ordering: .relaxed)
            cells[base + kind * 2 + 1].wrappingAdd(bytes[kind], ordering: .relaxed)
        }
    }

    /// Subtracts a batch's objects and bytes per kind (indexed by raw value) in one update per kind.
    func remove(objects: UnsafeBufferPointer<Int>, bytes: UnsafeBufferPointer<Int>, shard: Int) {
        let base = (shard % shardCount) * Self.stride
        for kind in 0..<min(objects.count, bytes.count) where objects[kind] != 0 || bytes[kind] != 0 {
            cells[base + kind * 2].wrappingSubtract(objects[kind], ordering: .relaxed)
            cells[base + kind * 2 + 1].wrappingSubtract(bytes[kind], ordering: .relaxed)
        }
    }

    /// (objects, bytes) per kind, summed over shards.
    func totals() -> [ObjectKind: (objects: Int, bytes: Int)] {
        var result: [ObjectKind: (objects: Int, bytes: Int)] = [:]
        for kind in ObjectKind.allCases {
            var objects = 0
            var bytes = 0
            for shard in 0..<shardCount {
                let base = shard * Self.stride + Int(kind.rawValue) * 2
                objects += cells[base].load(ordering: .relaxed)
                bytes += cells[base + 1].load(ordering: .relaxed)
            }
            result[kind] = (objects, bytes)
        }
        return result
    }
}
