import Foundation
import HeapCore
import XCTest

/// ``CycleCollector/mutatorsCollectYoung``: a young collection runs on the mutator whose allocations
/// made it due, when it calls ``CycleCollector/collectIfDue()``; a full one on the collector thread;
/// one that no mutator takes, at the collector thread's heartbeat.
final class YoungCollectionOnMutatorTests: XCTestCase {
    /// The thread each collection started on, by generation.
    final class StartLog: @unchecked Sendable {
        private let lock = NSLock()
        private var starts: [(generation: Int, thread: pthread_t)] = []
        func append(_ generation: Int) {
            lock.withLock { starts.append((generation, pthread_self())) }
        }
        var all: [(generation: Int, thread: pthread_t)] { lock.withLock { starts } }
    }

    private func makeHeap(thresholds: [Int]) throws -> (Heap, StartLog) {
        let heap = Heap(configuration: HeapConfiguration(maxObjects: 1 << 16, shardCount: 2))
        let log = StartLog()
        heap.setEventSink { event in
            if case .collectionStarted(let generation) = event { log.append(generation) }
        }
        heap.collector.setEnabled(false)
        try heap.collector.setThresholds(thresholds)
        heap.collector.mutatorsCollectYoung.store(true, ordering: .relaxed)
        heap.collector.start()
        heap.collector.setEnabled(true)
        return (heap, log)
    }

    /// Makes `count` self-referencing lists and drops them: cyclic garbage that counts toward count0.
    private func makeGarbage(_ heap: Heap, count: Int) {
        heap.gate.shared {
            for _ in 0..<count {
                let list = try! heap.makeList()
                try! heap.append(list, list)
                heap.release(list)
            }
        }
    }

    func testADueYoungCollectionRunsOnTheThreadThatCallsCollectIfDue() throws {
        let (heap, log) = try makeHeap(thresholds: [50, 1_000, 1_000])
        defer { heap.collector.stop() }
        makeGarbage(heap, count: 60)
        XCTAssertTrue(heap.collector.youngCollectionDue)
        heap.collector.collectIfDue()
        XCTAssertFalse(heap.collector.youngCollectionDue)
        let starts = log.all
        XCTAssertEqual(starts.map(\.generation), [0])
        XCTAssertEqual(starts.first.map { pthread_equal($0.thread, pthread_self()) != 0 }, true)
        XCTAssertEqual(heap.collector.statistics[0].collected, 60)
        XCTAssertEqual(heap.statistics().objects, 0)
        // Nothing due: a call costs a load and collects nothing.
        heap.collector.collectIfDue()
        XCTAssertEqual(log.all.count, 1)
    }

    func testAFullCollectionDueIsLeftToTheCollectorThread() throws {
        let (heap, log) = try makeHeap(thresholds: [2, 1, 1])
        defer { heap.collector.stop() }
        let deadline = Date().addingTimeInterval(10)
        while heap.collector.statistics[2].collections == 0 && Date() < deadline {
            makeGarbage(heap, count: 3)
            heap.collector.collectIfDue()
            usleep(1_000)
        }
        let starts = log.all
        let full = starts.filter { $0.generation == 2 }
        let young = starts.filter { $0.generation < 2 }
        XCTAssertFalse(full.isEmpty, "a full collection ran")
        XCTAssertFalse(young.isEmpty)
        for start in full { XCTAssertEqual(pthread_equal(start.thread, pthread_self()), 0, "full: collector thread") }
        XCTAssertTrue(young.contains { pthread_equal($0.thread, pthread_self()) != 0 }, "young: this thread")
    }

    func testTheHeartbeatTakesAYoungCollectionNoMutatorTook() throws {
        let (heap, log) = try makeHeap(thresholds: [50, 1_000, 1_000])
        defer { heap.collector.stop() }
        makeGarbage(heap, count: 60)
        let deadline = Date().addingTimeInterval(5)
        while heap.collector.statistics[0].collections == 0 && Date() < deadline { usleep(10_000) }
        XCTAssertEqual(heap.collector.statistics[0].collected, 60)
        XCTAssertEqual(log.all.first.map { pthread_equal($0.thread, pthread_self()) }, 0, "not on this thread")
    }
}
