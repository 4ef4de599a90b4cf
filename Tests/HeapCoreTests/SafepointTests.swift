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

        func reached(holding refs: [ObjectRef]) throws(HeapError) -> SafepointAction {
            calls += 1
            if calls == throwAt { throw HeapError(.limit, "stopped by the test") }
            guard calls == stopAt else { return .proceed }
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
            return .proceed
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

    /// Suspends the operation at every safepoint, counting them.
    final class SuspendingSafepoint: Safepoint {
        private(set) var calls = 0
        func reached(holding: [ObjectRef]) throws(HeapError) -> SafepointAction {
            calls += 1
            return .suspend
        }
    }

    func testAConsumerSuspendedAtEverySafepointGivesWhatOneGoGives() throws {
        let safepoint = SuspendingSafepoint()
        let range = hold(try heap.makeRange(start: 0, stop: 100_000))
        let summing = try IterableConsumer(heap: heap, consuming: range, for: .sum)
        var resumes = 1
        var total = try summing.resume(safepoint: safepoint)
        while total == nil {
            resumes += 1
            total = try summing.resume(safepoint: safepoint)
        }
        defer { heap.release(total!) }
        XCTAssertEqual(heap.repr(total!), "4999950000")
        XCTAssertEqual(resumes, 100_000 / 1024 + 1, "one suspension per 1024 items")
        XCTAssertTrue(summing.isFinished)
        XCTAssertEqual(summing.holding, [])

        let short = hold(try heap.makeRange(start: 0, stop: 5000))
        let listing = try IterableConsumer(heap: heap, consuming: short, for: .list)
        var list = try listing.resume(safepoint: safepoint)
        while list == nil { list = try listing.resume(safepoint: safepoint) }
        defer { heap.release(list!) }
        XCTAssertEqual(try heap.length(of: list!), 5000)
        let items = try heap.items(of: list!)
        defer { for item in items { heap.release(item) } }
        XCTAssertEqual(items.map { heap.repr($0) }, (0..<5000).map { "\($0)" }, "the items in order")
    }

    func testCancellingASuspendedListFreesWhatItHeldAndLeavesTheGeneratorConsumed() throws {
        let generator = hold(try heap.makeRange(start: 0, stop: .max))
        let before = heap.statistics().objects
        let listing = try IterableConsumer(heap: heap, consuming: generator, for: .list)
        let safepoint = SuspendingSafepoint()
        XCTAssertNil(try listing.resume(safepoint: safepoint))
        XCTAssertNil(try listing.resume(safepoint: safepoint))
        XCTAssertEqual(listing.holding.count, 2, "the iterator (the generator itself) and the list")
        // While suspended, what it holds is outside the heap: the verifier counts it when told.
        var external = held
        for ref in listing.holding { external[ref, default: 0] += 1 }
        XCTAssertEqual(heap.withWorldStopped { $0.verify(externalReferences: external) }, [])
        listing.cancel()
        XCTAssertTrue(listing.isFinished)
        XCTAssertEqual(heap.statistics().objects, before, "the half-built list and its items were freed")
        let next = try XCTUnwrap(try heap.next(generator))
        defer { heap.release(next) }
        XCTAssertEqual(heap.repr(next), "\(2 * 1023)", "1023 items per resume, consumed up to where it was suspended")
    }

    func testReprOfAHugeListCopiesOnlyWhatItShows() throws {
        let range = hold(try heap.makeRange(start: 0, stop: 1_000_000))
        let list = hold(try heap.makeList(from: range))
        let text = heap.repr(list, maxDepth: 1, maxItems: 3)
        XCTAssertEqual(text, "[0, 1, 2, ...(999997 more)]")
        let dict = hold(try heap.makeDict())
        for key in ["a", "b", "c"] {
            let value = try heap.makeInt(1)
            try heap.setItem(dict, key: key, value)
            heap.release(value)
        }
        XCTAssertEqual(heap.repr(dict, maxItems: 2), "{'a': 1, 'b': 1, ...(1 more)}")
        XCTAssertEqual(heap.repr(dict, maxItems: 3), "{'a': 1, 'b': 1, 'c': 1}")
    }

    func testAReprWrittenInStepsIsTheReprWrittenInOneGo() throws {
        // Nested lists sharing a 3000-item list, a dict, a set, a one-item tuple and a recursive list.
        let range = hold(try heap.makeRange(start: 0, stop: 3000))
        let items = hold(try heap.makeList(from: range))
        let dict = hold(try heap.makeDict())
        try heap.setItem(dict, key: "k", items)
        let set = hold(try heap.makeSet([hold(try heap.makeStr("s"))]))
        let single = hold(try heap.makeTuple([set]))
        let outer = hold(try heap.makeList([items, dict, single, items]))
        try heap.append(outer, outer)
        for maxItems in [2, 100, 5000] {
            let once = heap.repr(outer, maxDepth: 8, maxItems: maxItems)
            let writer = ReprWriter(heap: heap, outer, maxDepth: 8, maxItems: maxItems)
            let safepoint = SuspendingSafepoint()
            var steps = 1
            var written = try writer.resume(safepoint: safepoint)
            while written == nil {
                // While suspended, what it holds is outside the heap.
                var external = held
                for ref in writer.holding { external[ref, default: 0] += 1 }
                XCTAssertEqual(heap.withWorldStopped { $0.verify(externalReferences: external) }, [])
                steps += 1
                written = try writer.resume(safepoint: safepoint)
            }
            XCTAssertEqual(written, .some(once))
            XCTAssertEqual(writer.holding, [])
            if maxItems == 5000 { XCTAssertGreaterThan(steps, 5) }
        }
        XCTAssertTrue(heap.repr(outer).hasSuffix(", [...]]"), "the list inside itself")
        XCTAssertEqual(heap.repr(single), "({'s'},)")
        let bounded = ReprWriter(heap: heap, outer, maxItems: 5000, maxBytes: 1000)
        var result = try bounded.resume(safepoint: nil)
        while result == nil { result = try bounded.resume(safepoint: nil) }
        XCTAssertEqual(result, .some(nil), "past maxBytes: no text")
    }
}
