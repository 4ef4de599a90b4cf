import Foundation
import HeapdTesting
import XCTest

@testable import HeapCore

/// The image format in memory: capture, write, read and restore random heaps, and refuse every
/// truncated, bit-flipped or newer image.
final class HeapImageTests: XCTestCase {
    /// A random heap of every kind: the objects the globals hold, and what the "session" holds.
    struct RandomHeap {
        var globals: [String: ObjectRef] = [:]
        var session: [ObjectRef] = []
    }

    static func makeHeap() -> Heap { Heap(configuration: HeapConfiguration(maxObjects: 1 << 20, shardCount: 2)) }

    /// Builds a heap of `steps` random operations from `seed`: atoms, containers that point at earlier
    /// objects (cycles included), weakrefs, finalizers, generators, deleted dict entries, garbage.
    static func buildRandomHeap(_ heap: Heap, seed: UInt64, steps: Int) throws -> RandomHeap {
        var random = SeededGenerator(seed: seed)
        var pool: [ObjectRef] = []
        var result = RandomHeap()
        func pick() -> ObjectRef {
            pool.isEmpty ? .none : pool[Int.random(in: 0..<pool.count, using: &random)]
        }
        for step in 0..<steps {
            let object: ObjectRef
            switch Int.random(in: 0..<14, using: &random) {
            case 0: object = try heap.makeInt(Int64.random(in: -1000...1000, using: &random))
            case 1: object = try heap.makeFloat(Double(step) / 7)
            case 2: object = try heap.makeStr("s\(Int.random(in: 0..<50, using: &random))")
            case 3: object = try heap.makeBytes([UInt8](repeating: UInt8(step & 0xFF), count: step % 9))
            case 4: object = try heap.makeList((0..<Int.random(in: 0..<6, using: &random)).map { _ in pick() })
            case 5: object = try heap.makeTuple((0..<Int.random(in: 1..<4, using: &random)).map { _ in pick() })
            case 6:
                object = try heap.makeDict()
                for key in 0..<Int.random(in: 0..<8, using: &random) {
                    try heap.setItem(object, key: "k\(key)", pick())
                }
                if Bool.random(using: &random) { _ = try? heap.deleteItem(object, key: "k0") }
            case 7:
                object = try heap.makeSet()
                for _ in 0..<3 {
                    let value = try heap.makeInt(Int64.random(in: 0..<20, using: &random))
                    try heap.add(object, value)
                    heap.release(value)
                }
            case 8:
                object = try heap.makeInstance(className: "Node")
                try heap.setAttribute(object, "next", pick())
                if Bool.random(using: &random) { try heap.setFinalizer(object, legacy: step % 5 == 0) }
                // More names in a random order: some instances set them out of the class's shared-key
                // order, and once the class has made ~30 instances a new name gives one its own dict.
                for name in ["a", "b", "c\(step % 40)"].shuffled(using: &random).prefix(
                    Int.random(in: 0...3, using: &random))
                {
                    try heap.setAttribute(object, name, pick())
                }
            case 9:
                let target = pick()
                object = target.isImmortal ? try heap.makeInt(1) : try heap.makeWeakref(to: target)
            case 10:
                // A cycle: a list holding itself and an instance holding the list.
                object = try heap.makeList([pick()])
                try heap.append(object, object)
            case 11:
                let source = pick()
                if [.list, .tuple, .dict, .set, .str].contains(heap.kind(of: source)) {
                    object = try heap.makeIterator(over: source)
                    _ = try? heap.next(object).map { heap.release($0) }
                } else {
                    object = try heap.makeRange(start: 0, stop: 10, step: 3)
                    _ = try heap.next(object).map { heap.release($0) }
                }
            case 12:
                // A set keyed by an instance: hashed by slot, so the restore must rehash.
                let instance = try heap.makeInstance(className: "Key")
                object = try heap.makeSet([instance, pick().isImmortal ? instance : instance])
                heap.release(instance)
            default:
                object = try heap.makeList([])
                for _ in 0..<Int.random(in: 3..<12, using: &random) { try heap.append(object, pick()) }
            }
            pool.append(object)
            switch Int.random(in: 0..<4, using: &random) {
            case 0: result.globals["g\(step)"] = object
            case 1: result.session.append(object)
            default:
                // Dropped: freed at once, or left as cyclic garbage.
                heap.release(object)
                pool.removeLast()
            }
            if step % 50 == 49 { _ = try heap.collector.collect(generation: step % 3) }
        }
        return result
    }

    /// The image of a heap built from `seed`, and the heap (its session references still held).
    func image(seed: UInt64, steps: Int) throws -> (Heap, RandomHeap, HeapImage) {
        let heap = Self.makeHeap()
        var built = try Self.buildRandomHeap(heap, seed: seed, steps: steps)
        // Some heaps frozen (gc.freeze: the permanent generation), and more objects young after it.
        if seed % 2 == 1 {
            heap.withWorldStopped { $0.freeze() }
            let extra = try Self.buildRandomHeap(heap, seed: seed &+ 1000, steps: steps / 4)
            for (name, ref) in extra.globals { built.globals["young_" + name] = ref }
            built.session += extra.session
        }
        let image = heap.withWorldStopped { $0.captureImage(globals: built.globals, dropping: built.session) }
        return (heap, built, image)
    }

    func testRandomHeapsRoundTripObjectByObject() throws {
        for seed: UInt64 in [1, 2, 3, 17, 99] {
            let (heap, built, image) = try image(seed: seed, steps: 400)
            let bytes = ImageWriter.bytes(of: image)
            let read = try ImageReader.read(bytes)
            XCTAssertEqual(read.objectCount, image.objectCount)
            XCTAssertGreaterThan(image.objectCount, 100, "seed \(seed)")
            XCTAssertFalse(image.weakrefs.isEmpty, "seed \(seed): no weakref to keep")
            let nodeKeys = image.classes.first { $0.className == "Node" }
            XCTAssertEqual(nodeKeys?.usable, 0, "seed \(seed): the class's keys filled up")
            XCTAssertGreaterThan(nodeKeys?.names.count ?? 0, 3, "seed \(seed)")

            let restored = Self.makeHeap()
            let globals = try restored.withWorldStopped { try $0.restore(read) }
            var external: [ObjectRef: Int] = [:]
            for (_, ref) in globals { external[ref, default: 0] += 1 }
            XCTAssertEqual(restored.withWorldStopped { $0.verify(externalReferences: external) }, [], "seed \(seed)")

            // Object by object: the restored heap's image is the same bytes (same records, counts,
            // flags, generation order, tables with their deleted entries, weakrefs, globals, garbage).
            let again = restored.withWorldStopped {
                $0.captureImage(
                    globals: Dictionary(uniqueKeysWithValues: globals.map { ($0.name, $0.ref) }), dropping: [])
            }
            XCTAssertEqual(ImageWriter.bytes(of: again), bytes, "seed \(seed): the restored heap differs")
            // And as a user sees it, once the session is gone from the original too: each global's
            // repr (ids aside, which a restore renumbers) and its count.
            for ref in built.session { heap.release(ref) }
            XCTAssertEqual(restored.collector.freezeCount, heap.collector.freezeCount, "seed \(seed)")
            if seed % 2 == 1 { XCTAssertGreaterThan(restored.collector.freezeCount, 0, "seed \(seed)") }
            for (name, ref) in globals {
                let original = built.globals[name]!
                XCTAssertEqual(Self.withoutIDs(restored.repr(ref)), Self.withoutIDs(heap.repr(original)), "\(name)")
                XCTAssertEqual(restored.refcount(of: ref), heap.refcount(of: original), "seed \(seed) \(name)")
            }
            XCTAssertEqual(restored.collector.garbageCount, heap.collector.garbageCount)
            // The restored heap collects as the original would: the same number of objects.
            let collectedThere = try restored.collector.collect(generation: 2)
            let collectedHere = try heap.collector.collect(generation: 2)
            XCTAssertEqual(collectedThere, collectedHere, "seed \(seed)")
        }
    }

    static func withoutIDs(_ text: String) -> String {
        text.replacingOccurrences(of: "#[0-9]+", with: "#", options: .regularExpression)
    }

    /// A bigger heap (80,001 objects, every tuple in a cycle through the root) round-trips byte for byte.
    func testABigHeapRoundTrips() throws {
        let heap = Self.makeHeap()
        let root = try heap.makeList()
        for index in 0..<40_000 {
            let item = index % 2 == 0 ? try heap.makeInt(Int64(index)) : try heap.makeStr("s\(index)")
            let pair = try heap.makeTuple([item, root])
            try heap.append(root, pair)
            heap.release(item)
            heap.release(pair)
        }
        let image = heap.withWorldStopped { $0.captureImage(globals: ["root": root], dropping: []) }
        XCTAssertEqual(image.objectCount, 80_001)
        let bytes = ImageWriter.bytes(of: image)
        let restored = Self.makeHeap()
        let globals = try restored.withWorldStopped { try $0.restore(ImageReader.read(bytes)) }
        XCTAssertEqual(restored.withWorldStopped { $0.verify(externalReferences: [globals[0].ref: 1]) }, [])
        let again = restored.withWorldStopped { $0.captureImage(globals: ["root": globals[0].ref], dropping: []) }
        XCTAssertEqual(ImageWriter.bytes(of: again), bytes)
        heap.release(root)
        restored.release(globals[0].ref)
        _ = try heap.collector.collect(generation: 2)
        _ = try restored.collector.collect(generation: 2)
    }

    func testSessionOnlyObjectsAreLeftOutAndTheirCountsSubtracted() throws {
        let heap = Self.makeHeap()
        let shared = try heap.makeStr("shared")
        let local = try heap.makeList([shared])  // held by the session only
        let image = heap.withWorldStopped { $0.captureImage(globals: ["s": shared], dropping: [local]) }
        XCTAssertEqual(image.objectCount, 1)
        let restored = Self.makeHeap()
        let globals = try restored.withWorldStopped {
            try $0.restore(try ImageReader.read(ImageWriter.bytes(of: image)))
        }
        XCTAssertEqual(globals.count, 1)
        XCTAssertEqual(restored.refcount(of: globals[0].ref), 1)
        XCTAssertEqual(heap.refcount(of: shared), 2)
    }

    /// A version 1 image (before the classes section and the instances' attribute-order bits) still
    /// reads and restores: its classes start with empty shared keys.
    func testAVersionOneImageStillRestores() throws {
        let heap = Self.makeHeap()
        let list = try heap.makeList([])
        let image = heap.withWorldStopped { $0.captureImage(globals: ["l": list], dropping: []) }
        heap.release(list)
        var bytes = ImageWriter.bytes(of: image)
        XCTAssertEqual(image.classes, [])
        // The last section is the classes section, empty: a 24-byte header and a 4-byte count.
        XCTAssertEqual(Array(bytes.suffix(4)), [0, 0, 0, 0])
        bytes.removeLast(24 + 4)
        bytes.replaceSubrange(8..<12, with: [1, 0, 0, 0])
        bytes.replaceSubrange(24..<28, with: [5, 0, 0, 0])
        let crc = CRC32C.checksum(bytes[0..<28])
        bytes.replaceSubrange(28..<32, with: withUnsafeBytes(of: crc.littleEndian) { Array($0) })
        let read = try ImageReader.read(bytes)
        XCTAssertEqual(read.objectCount, image.objectCount)
        let restored = Self.makeHeap()
        let globals = try restored.withWorldStopped { try $0.restore(read) }
        XCTAssertEqual(globals.map(\.name), ["l"])
        globals.forEach { restored.release($0.ref) }
        // And a version 2 header with only five sections is corrupt.
        bytes.replaceSubrange(8..<12, with: [2, 0, 0, 0])
        let crc2 = CRC32C.checksum(bytes[0..<28])
        bytes.replaceSubrange(28..<32, with: withUnsafeBytes(of: crc2.littleEndian) { Array($0) })
        XCTAssertThrowsError(try ImageReader.read(bytes))
    }

    func testEveryTruncationIsRefused() throws {
        let (_, _, image) = try image(seed: 5, steps: 40)
        let bytes = ImageWriter.bytes(of: image)
        XCTAssertGreaterThan(image.objectCount, 10, "a heap worth cutting")
        XCTAssertNoThrow(try ImageReader.read(bytes))
        for length in 0..<bytes.count {
            XCTAssertThrowsError(try ImageReader.read(Array(bytes[0..<length])), "cut at \(length)") { error in
                let kind = (error as? ImageError)?.kind
                XCTAssertTrue(kind == .truncated || kind == .corrupt, "cut at \(length): \(error)")
            }
        }
    }

    func testEveryFlippedBitIsRefused() throws {
        let (_, _, image) = try image(seed: 6, steps: 40)
        let bytes = ImageWriter.bytes(of: image)
        for index in 0..<bytes.count {
            for bit in 0..<8 {
                var flipped = bytes
                flipped[index] ^= 1 << bit
                XCTAssertThrowsError(try ImageReader.read(flipped), "byte \(index) bit \(bit)")
            }
        }
    }

    func testNewerVersionAndOtherFilesAreRefusedClearly() throws {
        let (_, _, image) = try image(seed: 7, steps: 10)
        var bytes = ImageWriter.bytes(of: image)
        bytes[8] = UInt8(HeapImage.version + 1)
        // Re-seal the header, so only the version is wrong.
        let crc = CRC32C.checksum(bytes[0..<28])
        for index in 0..<4 { bytes[28 + index] = UInt8(truncatingIfNeeded: crc >> (8 * index)) }
        XCTAssertThrowsError(try ImageReader.read(bytes)) { error in
            XCTAssertEqual((error as? ImageError)?.kind, .newerVersion)
            XCTAssertTrue("\(error)".contains("newer"), "\(error)")
        }
        XCTAssertThrowsError(try ImageReader.read(Array("GIF89a and more bytes after it, thirty-two".utf8))) { error in
            XCTAssertEqual((error as? ImageError)?.kind, .notAnImage)
        }
    }

    func testCRC32CCheckValue() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8]()), 0)
        let text = Array("The quick brown fox jumps over the lazy dog, twice over.".utf8)
        XCTAssertEqual(CRC32C.checksum(text[20...], continuing: CRC32C.checksum(text[..<20])), CRC32C.checksum(text))
    }
}

/// The collector's programs (``MarkAliveTests/Program``: lists, dicts, instances with finalizers,
/// tuples, weakrefs, random edges, most objects dropped into cyclic garbage) restored from an image
/// collect exactly as the original: the same count, the same events in the same order, the same
/// survivors per generation and gc.garbage.
final class HeapImageCollectorTests: XCTestCase {
    struct Collected: Equatable {
        var returned: Int
        var events: [String]
        var generationLengths: [Int]
        var garbage: Int
    }

    func collect(_ heap: Heap, keeping kept: [ObjectRef]) throws -> Collected {
        let events = LockedEvents()
        heap.setEventSink { event in
            switch event {
            case .finalizer(_, let type): events.append("finalizer \(type)")
            case .weakrefCleared: events.append("weakref cleared")
            default: break
            }
        }
        let returned = try heap.collector.collect(generation: 2)
        heap.setEventSink(nil)
        let statistics = heap.statistics()
        defer {
            for ref in kept { heap.release(ref) }
            _ = heap.collector.clearGarbage(shard: 0)
            _ = try? heap.collector.collect(generation: 2)
        }
        return Collected(
            returned: returned, events: events.all, generationLengths: statistics.generationLengths,
            garbage: heap.collector.garbageCount)
    }

    func testRestoredProgramsCollectAsTheOriginals() throws {
        var collectedOverall = 0
        var eventsOverall = 0
        for seed: UInt64 in [3, 4, 5, 6] {
            let program = MarkAliveTests.Program(seed: seed)
            let heap = Heap(configuration: HeapConfiguration(maxObjects: 1 << 16, shardCount: 1))
            heap.collector.setEnabled(false)
            let (kept, _) = try program.build(in: heap)
            var globals: [String: ObjectRef] = [:]
            for (index, ref) in kept.enumerated() { globals["k\(index)"] = ref }
            let image = heap.withWorldStopped { $0.captureImage(globals: globals, dropping: []) }

            let restored = Heap(configuration: HeapConfiguration(maxObjects: 1 << 16, shardCount: 1))
            restored.collector.setEnabled(false)
            let bound = try restored.withWorldStopped { try $0.restore(ImageReader.read(ImageWriter.bytes(of: image))) }
            XCTAssertGreaterThan(image.objectCount, kept.count, "seed \(seed): garbage in the image too")

            let expected = try collect(heap, keeping: kept)
            let actual = try collect(restored, keeping: bound.map(\.ref))
            XCTAssertEqual(actual, expected, "seed \(seed)")
            collectedOverall += expected.returned
            eventsOverall += expected.events.count
        }
        XCTAssertGreaterThan(collectedOverall, 0, "the programs left garbage to collect")
        XCTAssertGreaterThan(eventsOverall, 0, "and finalizers or weakref callbacks to report")
    }
}

/// Events gathered from whichever thread the collector reports them on.
final class LockedEvents: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [String] = []
    func append(_ event: String) { lock.withLock { events.append(event) } }
    var all: [String] { lock.withLock { events } }
}
