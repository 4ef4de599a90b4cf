/// Frees put off so that they are done together: the blocks, payloads and slots of many dead objects,
/// and the per-kind counter changes they make.
///
/// Why: freeing one object costs a lock round trip on its allocator shard, one on the handle table's
/// free list, one on the generation lists and four counter atomics. Dropping a million-node chain, or
/// freeing a collection's garbage, pays that a million times; a batch pays each lock once per
/// ``capacity`` objects and the counters once per batch.
///
/// What may be batched: an object whose count is zero and that nothing can reach any more (a cascade's
/// dead objects, a collection's doomed garbage). Until ``Heap/flush(_:shard:)`` runs, its memory and
/// slot stay allocated and a container stays linked in its generation list; nothing reads them, since
/// no reference to the object exists and the collector cannot stop the world in between (the caller is
/// a mutator inside the gate, or the collector itself).
///
/// The lists live in one raw allocation of fixed capacity (one of the few places with unsafe pointers):
/// appending is a store and an increment, with no copy-on-write check per dead object.
final class FreeBatch {
    /// Objects per flush: 4096 slots and up to 8192 blocks are 80 KiB of pending work, in cache.
    static let capacity = 4096
    /// How many object kinds there are: kept per batch, since a `static let` is a lazily initialized
    /// global whose every read on the per-object path paid a `swift_once` check.
    private let kinds = ObjectKind.allCases.count

    /// The objects' small blocks to give back to the allocator.
    let blocks: UnsafeMutablePointer<UnsafeMutableRawPointer>
    /// The containers' small payloads (item arrays, hash tables), apart from the objects' blocks: each
    /// list stays in the order the objects were made, so consecutive blocks share a pool and the
    /// allocator frees them a pool at a time (``ArenaAllocator/freeBatch(_:)``); interleaved, every
    /// pool run was one block long.
    let payloads: UnsafeMutablePointer<UnsafeMutableRawPointer>
    /// The dead objects' slots, released after their blocks.
    let slots: UnsafeMutablePointer<UInt32>
    /// Dying containers still linked in a generation list (unlinked first).
    let containers: UnsafeMutablePointer<UInt32>
    /// Per kind (by raw value): objects freed, then bytes freed (objects and payloads).
    let tallies: UnsafeMutablePointer<Int>
    /// Blocks too big for a pool (long str, bytes or tuple bodies, large payloads), with their sizes:
    /// rare, so an ordinary array. Freed at the flush like the rest, after the untracking that reads
    /// a dying container's header.
    var largeBlocks: [(block: UnsafeMutableRawPointer, size: Int)] = []
    /// How many entries `blocks`, `slots`, `containers` and `payloads` hold.
    private let counts: UnsafeMutablePointer<Int>

    init() {
        blocks = .allocate(capacity: Self.capacity)
        payloads = .allocate(capacity: Self.capacity)
        slots = .allocate(capacity: Self.capacity)
        containers = .allocate(capacity: Self.capacity)
        tallies = .allocate(capacity: 2 * kinds)
        tallies.initialize(repeating: 0, count: 2 * kinds)
        counts = .allocate(capacity: 4)
        counts.initialize(repeating: 0, count: 4)
    }

    deinit {
        blocks.deallocate()
        payloads.deallocate()
        slots.deallocate()
        containers.deallocate()
        tallies.deallocate()
        counts.deallocate()
    }

    var blockCount: Int { counts[0] }
    var payloadCount: Int { counts[3] }
    var slotCount: Int { counts[1] }
    var containerCount: Int { counts[2] }
    var isFull: Bool { counts[1] >= Self.capacity }

    @inline(__always)
    func addBlock(_ block: UnsafeMutableRawPointer) {
        blocks[counts[0]] = block
        counts[0] += 1
    }

    @inline(__always)
    func addPayload(_ block: UnsafeMutableRawPointer) {
        payloads[counts[3]] = block
        counts[3] += 1
    }

    @inline(__always)
    func addObject(_ slot: UInt32, rawKind: UInt8, bytes: Int) {
        slots[counts[1]] = slot
        counts[1] += 1
        tallies[Int(rawKind)] += 1
        tallies[kinds + Int(rawKind)] += bytes
    }

    @inline(__always)
    func addContainer(_ slot: UInt32) {
        containers[counts[2]] = slot
        counts[2] += 1
    }

    /// The objects and bytes freed per kind (indexed by raw value).
    var objectsPerKind: UnsafeBufferPointer<Int> { UnsafeBufferPointer(start: tallies, count: kinds) }
    var bytesPerKind: UnsafeBufferPointer<Int> { UnsafeBufferPointer(start: tallies + kinds, count: kinds) }

    /// Empties the batch after a flush.
    func reset() {
        largeBlocks.removeAll(keepingCapacity: true)
        counts.update(repeating: 0, count: 4)
        tallies.update(repeating: 0, count: 2 * kinds)
    }
}
