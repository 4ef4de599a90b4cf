import Dispatch
import HeapCore
import Synchronization
import XCTest

/// Long heap operations at their safepoints: a stop of the world gets through while they run, sees the
/// heap sound when they publish what they hold, and an error thrown there ends them cleanly.
final class SafepointTests: HeapTestCase {
    /// At its `stopAt`-th call, stops the world from another thread (running the verifier with what the
    /// operation holds published, unless `publish` is false) and yields to it; throws at `throwAt`.
    final class VerifyingSafepoint: Safepoint, @unchecked Sendable {
        let heap: Heap
        let external: [ObjectRef: Int]
        let stopAt: Int
        let throwAt: Int
        let publish: Bool
        private(set) var calls = 0
        private(set) var problems: [String]?

        init(heap: Heap, external: [ObjectRef: Int], stopAt: Int, throwAt: Int, publish: Bool = true) {
            self.heap = heap
            self.external = external
            self.stopAt = stopAt
            self.throwAt = throwAt
            self.publish = publish
        }

        func reached(holding refs: [ObjectRef]) throws(HeapError) {
            calls += 1
            if calls == throwAt { throw HeapError(.limit, "stopped by the test") }
            guard calls == stopAt else { return }
            var counted = external
            if publish { for ref in refs { counted[ref, default: 0] += 1 } }
            let done = DispatchSemaphore(value: 0)
            let result = LockedBox()
            let heap = heap
            let references = counted
            Thread.detachNewThread {
                result.set(heap.withWorldStopped { $0.verify(externalReferences: references) })
                done.signal()
            }
            while !heap.gate.isStopPending { sched_yield() }
            XCTAssertTrue(heap.gate.yieldToStop(), "the stop was pending: this mutator left for it")
            done.wait()
            problems = result.get()
        }
    }

    final class LockedBox: @unchecked Sendable {
        private let lock = NSLock()
        private var value: [String]?
        func set(_ new: [String]) { lock.withLock { value = new } }
        func get() -> [String]? { lock.withLock { value } }
    }

    func testAStopGetsThroughASumAndSeesItsReferencesWhenTheyArePublished() throws {
        let generator = hold(try heap.makeRange(start: 0, stop: .max))
        var external = held
        // The caller (a command) holds one more reference to the generator for the call.
        external[generator, default: 0] += 1
        heap.retain(generator)
        defer { heap.release(generator) }
        let safepoint = VerifyingSafepoint(heap: heap, external: external, stopAt: 2, throwAt: 3)
        XCTAssertThrowsError(
            try heap.gate.shared { () throws(HeapError) in try heap.sum(generator, safepoint: safepoint) }
        ) {
            XCTAssertEqual(($0 as? HeapError)?.message, "stopped by the test")
        }
        XCTAssertEqual(safepoint.problems, [], "the verifier ran while the sum was paused and found the heap sound")
        let next = try XCTUnwrap(try heap.next(generator))
        defer { heap.release(next) }
        XCTAssertEqual(heap.repr(next), "\(3 * 1024 - 1)", "consumed up to the safepoint that stopped it")
    }

    func testAHalfBuiltListIsSoundAtTheStopAndFreedWhenStopped() throws {
        let generator = hold(try heap.makeRange(start: 0, stop: .max))
        let before = heap.statistics().objects
        let safepoint = VerifyingSafepoint(heap: heap, external: held, stopAt: 3, throwAt: 4)
        XCTAssertThrowsError(
            try heap.gate.shared { () throws(HeapError) in try heap.makeList(from: generator, safepoint: safepoint) })
        XCTAssertEqual(safepoint.problems, [], "the list of 3071 items and its iterator were counted")
        XCTAssertEqual(heap.statistics().objects, before, "the half-built list and its items were freed")
    }

    func testUnpublishedReferencesAreWhatTheVerifierWouldMiss() throws {
        let generator = hold(try heap.makeRange(start: 0, stop: .max))
        let safepoint = VerifyingSafepoint(heap: heap, external: held, stopAt: 1, throwAt: 2, publish: false)
        XCTAssertThrowsError(
            try heap.gate.shared { () throws(HeapError) in try heap.sum(generator, safepoint: safepoint) })
        XCTAssertFalse(
            safepoint.problems?.isEmpty ?? true, "the sum's own reference to the generator is not in the heap")
    }

    func testReprStopsAtItsByteBound() throws {
        let text = hold(try heap.makeStr(String(repeating: "z", count: 1000)))
        XCTAssertNil(heap.repr(text, maxBytes: 1001), "the quotes count")
        XCTAssertEqual(heap.repr(text, maxBytes: 1002), heap.repr(text))
        let list = hold(try heap.makeList(Array(repeating: text, count: 100)))
        XCTAssertNil(heap.repr(list, maxBytes: 50_000))
        XCTAssertEqual(heap.repr(list, maxBytes: 200_000), heap.repr(list))
    }
}
