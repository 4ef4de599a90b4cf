import Foundation
import HeapCore
import Synchronization

/// The in-process figures: refcount pairs, allocation, bytes per object.
enum InProcessBenchmarks {
    static let pairs = 20_000_000

    /// A bare atomic add + subtract pair on a word in raw memory, the anchor for refcount pairs.
    static func bareAtomicPairs(threads: Int) -> Double {
        // One word per thread, each on its own cache line.
        let words = UnsafeMutableRawPointer.allocate(byteCount: 64 * threads, alignment: 64)
        for index in 0..<threads {
            (words + 64 * index).initializeMemory(as: Atomic<Int>.self, to: Atomic<Int>(1))
        }
        let base = Box(words)
        defer { words.deallocate() }
        return Measure.throughput(threads: threads, iterations: pairs) { thread, iterations in
            let word = (base.value + 64 * thread).assumingMemoryBound(to: Atomic<Int>.self)
            for _ in 0..<iterations {
                word.pointee.wrappingAdd(1, ordering: .relaxed)
                if word.pointee.wrappingSubtract(1, ordering: .acquiringAndReleasing).oldValue == 1 {
                    fatalError("unreachable")
                }
            }
        }
    }

    /// heapd's `retain` + `release` pair on an object per thread (or one object shared by all).
    static func refcountPairs(threads: Int, shared: Bool) -> Double {
        let heap = Heap(configuration: HeapConfiguration(maxObjects: 1 << 20, shardCount: 4))
        let objects = (0..<threads).map { _ in try! heap.makeList() }
        defer { for object in objects { heap.release(object) } }
        return Measure.throughput(threads: threads, iterations: pairs) { thread, iterations in
            let object = objects[shared ? 0 : thread]
            for _ in 0..<iterations {
                heap.retain(object)
                heap.release(object, shard: thread)
            }
        }
    }

    static let allocationBatch = 1_000
    static let allocationRounds = 5_000

    /// 48-byte blocks from heapd's arena allocator: allocate a batch, free it, repeat.
    static func arenaAllocations(threads: Int) -> Double {
        let allocator = ArenaAllocator(shardCount: 4)
        return Measure.throughput(threads: threads, iterations: allocationRounds) { thread, rounds in
            let blocks = UnsafeMutablePointer<UnsafeMutableRawPointer>.allocate(capacity: allocationBatch)
            defer { blocks.deallocate() }
            for _ in 0..<rounds {
                for index in 0..<allocationBatch { blocks[index] = allocator.allocate(size: 48, shard: thread)! }
                for index in 0..<allocationBatch { allocator.free(blocks[index], size: 48, shard: thread) }
            }
        } * Double(allocationBatch)
    }

    /// The same pattern with glibc's malloc and free.
    static func mallocAllocations(threads: Int) -> Double {
        Measure.throughput(threads: threads, iterations: allocationRounds) { _, rounds in
            let blocks = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: allocationBatch)
            defer { blocks.deallocate() }
            for _ in 0..<rounds {
                for index in 0..<allocationBatch { blocks[index] = malloc(48) }
                for index in 0..<allocationBatch { free(blocks[index]) }
            }
        } * Double(allocationBatch)
    }

    /// Whole objects: `makeInt` + `release`, allocation, slot claim, header, counters, free.
    static func objectAllocations(threads: Int) -> Double {
        let heap = Heap(configuration: HeapConfiguration(maxObjects: 1 << 22, shardCount: 4))
        return Measure.throughput(threads: threads, iterations: allocationRounds / 5) { thread, rounds in
            var refs: [ObjectRef] = []
            refs.reserveCapacity(allocationBatch)
            for _ in 0..<rounds {
                for index in 0..<allocationBatch { refs.append(try! heap.makeInt(Int64(index), shard: thread)) }
                for ref in refs { heap.release(ref, shard: thread) }
                refs.removeAll(keepingCapacity: true)
            }
        } * Double(allocationBatch)
    }

    /// Bytes per object of each type, everything counted: block, payload and handle-table entry.
    static func bytesPerObject() -> [(String, Double)] {
        let heap = Heap(configuration: HeapConfiguration(maxObjects: 1 << 22, shardCount: 1))
        let count = 10_000
        let item = try! heap.makeInt(7)
        let makers: [(String, () -> ObjectRef)] = [
            ("int", { try! heap.makeInt(123_456) }),
            ("float", { try! heap.makeFloat(1.5) }),
            ("str (5 chars)", { try! heap.makeStr("hello") }),
            ("bytes (16)", { try! heap.makeBytes(Array(repeating: 1, count: 16)) }),
            ("list (empty)", { try! heap.makeList() }),
            ("list (2 items)", { try! heap.makeList([item, item]) }),
            ("tuple (2 items)", { try! heap.makeTuple([item, item]) }),
            ("dict (empty)", { try! heap.makeDict() }),
            (
                "dict (2 keys)",
                {
                    let dict = try! heap.makeDict()
                    try! heap.setItem(dict, key: "a", item)
                    try! heap.setItem(dict, key: "b", item)
                    return dict
                }
            ),
            ("set (empty)", { try! heap.makeSet() }),
            ("object (no attrs)", { try! heap.makeInstance(className: "Node") }),
        ]
        var result: [(String, Double)] = []
        for (name, make) in makers {
            let before = heap.statistics().bytesInUse
            let refs = (0..<count).map { _ in make() }
            let after = heap.statistics().bytesInUse
            result.append((name, Double(after - before) / Double(count)))
            for ref in refs { heap.release(ref) }
        }
        heap.release(item)
        return result
    }
}
