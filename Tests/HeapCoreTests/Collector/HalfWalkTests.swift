import Foundation
import XCTest

@testable import HeapCore

/// update_refs walks a long generation 2 from both ends at once when the collector works with two
/// threads (``StoppedHeap/walkGenerationTwoInHalves(keepingMarked:)``). Two heaps built by the same
/// steps must come out of a full collection the same with one thread and with two: the same count,
/// the same finalizer order, generation 2 in the same order, and a sound heap.
final class HalfWalkTests: XCTestCase {
    /// What a full collection left: its result, the finalizer events in order, generation 2's slots in
    /// list order, and the verifier's findings.
    struct Outcome: Equatable {
        var found = 0
        var finalized: [String] = []
        var generationTwo: [UInt32] = []
        var problems: [String] = []
    }

    final class EventLog: @unchecked Sendable {
        private let lock = NSLock()
        private var events: [String] = []
        func append(_ event: String) { lock.withLock { events.append(event) } }
        var all: [String] { lock.withLock { events } }
    }

    /// Builds a random graph of lists (with tuples, dicts and finalizers among them), moves it to
    /// generation 2, drops part of its roots, and collects everything once with `threads`.
    private func collect(threads: Int, marksAlive: Bool, nodes count: Int = 100_000) throws -> Outcome {
        let heap = Heap(configuration: HeapConfiguration(maxObjects: 1 << 20, shardCount: 2))
        let log = EventLog()
        heap.setEventSink { event in
            if case .finalizer(let object, _) = event { log.append("\(object)") }
        }
        heap.collector.setEnabled(false)
        heap.collector.marksAlive.store(marksAlive, ordering: .relaxed)
        var rng = SystemRandomNumberGenerator.Seeded(state: 42)
        var nodes: [ObjectRef] = []
        for index in 0..<count {
            let node: ObjectRef
            switch index % 50 {
            case 7: node = try heap.makeDict()
            case 13:
                let one = try heap.makeList()
                node = try heap.makeTuple([one])
                heap.release(one)
            default: node = try heap.makeList()
            }
            if index % 97 == 0 { try heap.setFinalizer(node, legacy: false) }
            nodes.append(node)
        }
        for (index, node) in nodes.enumerated() where index % 50 != 13 {
            for edge in 0..<2 {
                let target = nodes[Int(rng.next() % UInt64(count))]
                if index % 50 == 7 {
                    try heap.setItem(node, key: "k\(index).\(edge)", target)
                } else {
                    try heap.append(node, target)
                }
            }
        }
        // Rings of lists (finalizers on some) that a holder keeps until the first collection has moved
        // them to generation 2: garbage there in the second.
        let holder = try heap.makeList()
        for ring in 0..<1_000 {
            let members = try (0..<12).map { _ in try heap.makeList() }
            for (index, member) in members.enumerated() {
                try heap.append(member, members[(index + 1) % members.count])
                if index == 0 && ring % 3 == 0 { try heap.setFinalizer(member, legacy: false) }
            }
            try heap.append(holder, members[0])
            members.forEach { heap.release($0) }
        }
        // Roots: every third node and the holder now; after the first collection, every sixth node.
        var roots = stride(from: 0, to: count, by: 3).map { nodes[$0] }
        for node in roots { heap.retain(node) }
        for node in nodes { heap.release(node) }
        roots.insert(holder, at: 1)  // an odd place: dropped after the first collection
        let rootBox = RootBox(roots)
        heap.collector.setRoots { rootBox.roots }
        _ = try heap.collector.collect(generation: 2)
        let dropped = rootBox.keepEvery(2)
        for node in dropped { heap.release(node) }
        heap.collector.workerThreads.store(threads, ordering: .relaxed)
        XCTAssertGreaterThanOrEqual(
            heap.statistics().generationLengths[2], StoppedHeap.halfWalkMinimum, "too small to be walked in halves")
        var outcome = Outcome()
        outcome.found = try heap.collector.collect(generation: 2)
        outcome.finalized = log.all
        outcome.generationTwo = heap.withWorldStopped { stopped in
            var slots: [UInt32] = []
            var cursor = stopped.heap.generations.heads[2]
            while cursor != ObjectLayout.noLink {
                slots.append(cursor)
                cursor = stopped.layout(cursor).gcNext
            }
            return slots
        }
        outcome.problems = heap.withWorldStopped { $0.verify(externalReferences: rootBox.counts) }
        heap.collector.setRoots(nil)
        for node in rootBox.roots { heap.release(node) }
        _ = try heap.collector.collect(generation: 2)
        roots = []
        return outcome
    }

    final class RootBox: @unchecked Sendable {
        private let lock = NSLock()
        private var held: [ObjectRef]
        init(_ roots: [ObjectRef]) { held = roots }
        var roots: [ObjectRef] { lock.withLock { held } }
        var counts: [ObjectRef: Int] { lock.withLock { Dictionary(held.map { ($0, 1) }, uniquingKeysWith: +) } }
        /// Keeps every `n`th root and returns the others (their references to drop).
        func keepEvery(_ n: Int) -> [ObjectRef] {
            lock.withLock {
                let dropped = held.enumerated().filter { $0.offset % n != 0 }.map(\.element)
                held = held.enumerated().filter { $0.offset % n == 0 }.map(\.element)
                return dropped
            }
        }
    }

    func testTwoWalkersKeepingMarkedObjectsFindWhatOneFinds() throws {
        let one = try collect(threads: 1, marksAlive: true)
        let two = try collect(threads: 2, marksAlive: true)
        XCTAssertGreaterThan(one.found, 0)
        XCTAssertGreaterThan(one.generationTwo.count, StoppedHeap.halfWalkMinimum / 2)
        XCTAssertEqual(one.problems, [])
        XCTAssertEqual(two.problems, [])
        XCTAssertEqual(two.found, one.found)
        XCTAssertEqual(two.finalized, one.finalized)
        XCTAssertEqual(two.generationTwo, one.generationTwo, "generation 2's order")
    }

    func testTwoWalkersOfPlainTrialDeletionFindWhatOneFinds() throws {
        let one = try collect(threads: 1, marksAlive: false)
        let two = try collect(threads: 2, marksAlive: false)
        XCTAssertGreaterThan(one.found, 0)
        XCTAssertEqual(one.problems, [])
        XCTAssertEqual(two.problems, [])
        XCTAssertEqual(two.found, one.found)
        XCTAssertEqual(two.finalized, one.finalized)
        XCTAssertEqual(two.generationTwo, one.generationTwo, "generation 2's order")
    }
}

extension SystemRandomNumberGenerator {
    /// SplitMix64: the same numbers on every run.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}
