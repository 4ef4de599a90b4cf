import Dispatch
import Synchronization
import XCTest

@testable import HeapCore

/// A young collection frees its garbage's memory after the world restarts, as a mutator
/// (`CycleCollector.runCollection`): in the stop the garbage is condemned — its ids stop resolving —
/// and nothing may reach it between the stop and the free.
final class GarbageFreedAfterStopTests: HeapTestCase {
    /// Makes `pairs` two-list cycles and drops them; returns the ids of their lists.
    private func makeCycles(_ pairs: Int) throws -> [ObjectID] {
        var ids: [ObjectID] = []
        for _ in 0..<pairs {
            let a = try heap.makeList()
            let b = try heap.makeList()
            try heap.append(a, b)
            try heap.append(b, a)
            ids += [heap.id(of: a), heap.id(of: b)]
            heap.release(a)
            heap.release(b)
        }
        return ids
    }

    func testGarbageIsCondemnedInTheStopAndFreedAfterIt() throws {
        heap.collector.setEnabled(false)
        let ids = try makeCycles(100)
        let before = heap.statistics().objects
        let found = heap.withWorldStopped { stopped -> CollectionOutcome in
            var longLived = (pending: 0, total: 0)
            let outcome = stopped.collect(generation: 0, saveAll: false, debug: 0, longLived: &longLived)
            stopped.condemnGarbage(outcome.doomed, shard: 0, drops: outcome.doomedDrops)
            return outcome
        } thenAsMutator: { outcome -> Int in
            // Between the stop and the free: not freed yet, and unreachable by id.
            XCTAssertEqual(self.heap.statistics().objects, before, "freed inside the stop")
            let resolved = ids.filter { (try? self.heap.acquire($0)) != nil }
            XCTAssertEqual(resolved, [], "a condemned id resolved")
            self.heap.freeGarbage(outcome.doomed, shard: 0)
            return outcome.collected
        }
        XCTAssertEqual(found, 200)
        XCTAssertEqual(heap.statistics().objects, before - 200)
        for id in ids { XCTAssertThrowsError(try heap.acquire(id)) }
    }

    /// The same through the collector as the server runs it (a mutator collects what its allocations
    /// made due), while another thread keeps resolving the garbage's ids and dropping what it got: an
    /// id must resolve only before the collection's stop (then the object is kept), never while its
    /// memory is freed. The verifier checks every slot's count and every object after each round.
    func testIdsRacingAYoungCollectionNeverReachFreedGarbage() throws {
        try heap.collector.setThresholds([10_000, 1_000, 1_000])
        heap.collector.mutatorsCollectYoung.store(true, ordering: .relaxed)
        for round in 0..<200 {
            let ids = try heap.gate.shared { try makeCycles(50) }
            let done = Atomic<Bool>(false)
            let finished = DispatchSemaphore(value: 0)
            let heap = self.heap!
            DispatchQueue.global().async {
                while !done.load(ordering: .relaxed) {
                    heap.gate.shared {
                        for id in ids { if let ref = try? heap.acquire(id) { heap.release(ref) } }
                    }
                }
                finished.signal()
            }
            _ = try heap.collector.collect(generation: 0)
            done.store(true, ordering: .relaxed)
            finished.wait()
            _ = try heap.collector.collect(generation: 0)
            for id in ids { XCTAssertThrowsError(try heap.acquire(id), "round \(round)") }
            XCTAssertEqual(heap.withWorldStopped { $0.verify(externalReferences: held) }, [], "round \(round)")
        }
    }
}
