import XCTest

@testable import HeapCore

/// The bulk restore (``StoppedHeap/restore(_:)``): every size class and large payloads, list item
/// arrays, tables with deleted entries, all four generations, weakrefs and gc.garbage round-trip
/// byte for byte with a clean verifier, the per-kind counters and the allocator's pools come out as
/// if each object had been allocated alone, and the record cursor reads every record as
/// ``ObjectRecord`` does.
final class BulkRestoreTests: XCTestCase {
    static func makeHeap() -> Heap { Heap(configuration: HeapConfiguration(maxObjects: 1 << 20, shardCount: 2)) }

    /// A heap with objects of every size class and beyond, in every generation, held by globals.
    func buildVariedHeap(_ heap: Heap) throws -> [String: ObjectRef] {
        var globals: [String: ObjectRef] = [:]
        // strs and bytes of every length up to past the largest size class (512 bytes).
        let texts = try heap.makeList()
        for length in stride(from: 0, through: 700, by: 3) {
            let text = try heap.makeStr(String(repeating: "x", count: length))
            let bytes = try heap.makeBytes([UInt8](repeating: UInt8(length & 0xFF), count: length))
            try heap.append(texts, text)
            try heap.append(texts, bytes)
            heap.release(text)
            heap.release(bytes)
        }
        globals["texts"] = texts
        // Lists of every capacity up to 200 (inline, arrays of many classes, a large array).
        let lists = try heap.makeList()
        for count in 0..<200 {
            let list = try heap.makeList()
            for item in 0..<count {
                let value = try heap.makeInt(Int64(item))
                try heap.append(list, value)
                heap.release(value)
            }
            try heap.append(lists, list)
            heap.release(list)
        }
        globals["lists"] = lists
        // Dicts of growing size with deleted entries, tuples of many lengths as keys.
        for size in [1, 5, 30, 100] {
            let dict = try heap.makeDict()
            for key in 0..<size {
                // Distinct tuples (no key replaces an equal one).
                let items = try (0...key % 7).map { try heap.makeInt(Int64(key * 10 + $0)) }
                let tuple = try heap.makeTuple(items)
                for item in items { heap.release(item) }
                try heap.setItem(dict, key: tuple, tuple)
                try heap.setItem(dict, key: "k\(key)", tuple)
                heap.release(tuple)
            }
            for key in stride(from: 0, to: size, by: 3) { try heap.deleteItem(dict, key: "k\(key)") }
            globals["dict\(size)"] = dict
        }
        // Generations: old objects survive collections, some are frozen, young ones come after.
        _ = try heap.collector.collect(generation: 0)
        _ = try heap.collector.collect(generation: 1)
        heap.withWorldStopped { $0.freeze() }
        let young = try heap.makeInstance(className: "Young")
        let weak = try heap.makeWeakref(to: young)
        try heap.setAttribute(young, "me", weak)
        heap.release(weak)
        globals["young"] = young
        // gc.garbage: a cycle saved by DEBUG_SAVEALL (and an instance with a finalizer beside it).
        let node = try heap.makeInstance(className: "Saved")
        try heap.setFinalizer(node, legacy: false)
        try heap.setAttribute(node, "self", node)
        heap.release(node)
        heap.collector.setDebugFlags(GCDebugFlags.saveAll)
        _ = try heap.collector.collect(generation: 2)
        heap.collector.setDebugFlags(0)
        let more = try heap.makeList([young])
        globals["more"] = more
        return globals
    }

    func testAVariedHeapRoundTripsWithItsCountersAndPools() throws {
        let heap = Self.makeHeap()
        let globals = try buildVariedHeap(heap)
        XCTAssertGreaterThan(heap.collector.garbageCount, 0, "no gc.garbage to restore")
        let image = heap.withWorldStopped { $0.captureImage(globals: globals, dropping: []) }
        let bytes = ImageWriter.bytes(of: image)
        let restored = Self.makeHeap()
        let names = try restored.withWorldStopped { try $0.restore(ImageReader.read(bytes)) }
        var external: [ObjectRef: Int] = [:]
        for (_, ref) in names { external[ref, default: 0] += 1 }
        XCTAssertEqual(restored.withWorldStopped { $0.verify(externalReferences: external) }, [])
        let again = restored.withWorldStopped {
            $0.captureImage(globals: Dictionary(uniqueKeysWithValues: names.map { ($0.name, $0.ref) }), dropping: [])
        }
        XCTAssertEqual(ImageWriter.bytes(of: again), bytes)

        // The counters as if each object had been allocated alone: the same objects and bytes per kind
        // as the heap that was saved (nothing session-only in it), the same generations.
        let before = heap.statistics()
        let after = restored.statistics()
        XCTAssertEqual(after.objectsByKind, before.objectsByKind)
        XCTAssertEqual(after.bytesByKind, before.bytesByKind)
        XCTAssertEqual(after.generationLengths, before.generationLengths)
        XCTAssertEqual(after.generationCounts, before.generationCounts)
        XCTAssertGreaterThan(after.generationLengths[GenerationLists.permanent], 0)
        XCTAssertEqual(
            after.allocator.blocksInUse.reduce(0, +) + after.allocator.largeBlocks,
            before.allocator.blocksInUse.reduce(0, +) + before.allocator.largeBlocks)

        // The pools the runs left part-used serve new blocks, and everything freed gives every block
        // and pool back.
        for index in 0..<5000 { restored.release(try restored.makeStr("new \(index)")) }
        for (_, ref) in names { restored.release(ref) }
        restored.withWorldStopped { $0.unfreeze() }
        _ = restored.collector.clearGarbage(shard: 0)
        _ = try restored.collector.collect(generation: 2)
        let empty = restored.statistics()
        XCTAssertEqual(empty.objects, 0)
        XCTAssertEqual(empty.allocator.blocksInUse.reduce(0, +), 0)
        XCTAssertEqual(empty.allocator.poolsInUse, 0)
        XCTAssertEqual(empty.objectBytes, 0)
    }

    /// The cursor (restore, the reader's check) and ObjectRecord (inspect) read every record alike.
    func testTheCursorReadsEveryRecordAsObjectRecordDoes() throws {
        let heap = Self.makeHeap()
        let built = try HeapImageTests.buildRandomHeap(heap, seed: 7, steps: 400)
        let varied = try buildVariedHeap(heap)
        let image = heap.withWorldStopped {
            $0.captureImage(globals: built.globals.merging(varied) { first, _ in first }, dropping: built.session)
        }
        var reader = ImageBytesReader(image.objectRecords, shortage: .corrupt, what: "an object record")
        var record = ObjectRecord()
        try image.objectRecords.withImageBytes { (raw) throws(ImageError) in
            var cursor = ImageRecordCursor(raw)
            for index in 0..<image.objectCount {
                try ObjectRecord.decode(from: &reader, into: &record)
                let view = try cursor.next()
                XCTAssertEqual(cursor.offset, reader.offset, "record \(index)")
                XCTAssertEqual(view.kind, record.kind)
                XCTAssertEqual(view.flags, record.flags)
                XCTAssertEqual(view.refcount, record.refcount)
                XCTAssertEqual(Array(view.refs), record.refs, "record \(index)")
                XCTAssertEqual(Array(view.contents), Array(record.contents))
                XCTAssertEqual(view.capacity, record.capacity)
                XCTAssertEqual(view.liveCount, record.liveCount)
                XCTAssertEqual(view.link, record.link)
                if record.kind == .int || record.kind == .float { XCTAssertEqual(view.scalar, record.scalar) }
                if record.kind == .generator {
                    XCTAssertEqual(view.generatorMode, record.generatorMode)
                    XCTAssertEqual(view.generatorPosition, record.generatorPosition)
                    XCTAssertEqual(view.generatorStep, record.generatorStep)
                    XCTAssertEqual(view.generatorRemaining, record.generatorRemaining)
                }
            }
            XCTAssertTrue(cursor.atEnd)
        }
    }

    /// An image with more objects than the heap has slots is refused before anything is built.
    func testAnImageTooBigForTheTableIsRefusedWhole() throws {
        let heap = Self.makeHeap()
        let root = try heap.makeList()
        for index in 0..<100 {
            let value = try heap.makeInt(Int64(index))
            try heap.append(root, value)
            heap.release(value)
        }
        let image = heap.withWorldStopped { $0.captureImage(globals: ["root": root], dropping: []) }
        let small = Heap(configuration: HeapConfiguration(maxObjects: 50, shardCount: 1))
        XCTAssertThrowsError(try small.withWorldStopped { try $0.restore(image) }) { error in
            XCTAssertEqual((error as? ImageError)?.kind, .cannotRestore)
        }
        XCTAssertEqual(small.statistics().objects, 0)
        XCTAssertEqual(small.statistics().allocator.poolsInUse, 0)
    }
}
