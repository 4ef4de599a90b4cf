import Dispatch
import XCTest

@testable import HeapCore

/// The tracer on the allocator's path: what it records, what it forgets, which traceback it picks,
/// and that threads allocating while another starts, stops, clears and snapshots keep it consistent.
final class AllocationTracerTests: HeapTestCase {
    let frames = [TraceFrame(filename: "inner.heap", lineno: 7), TraceFrame(filename: "main.heap", lineno: 2)]

    override func tearDown() {
        TraceContext.setCurrent(nil)
        heap.tracer.stop()
        super.tearDown()
    }

    func testBlocksAreTracedUntilFreedWithTheThreadsTraceback() throws {
        let before = try heap.makeInt(1)
        try heap.tracer.start(frames: 5)
        TraceContext.setCurrent(heap.tracer.intern(frames))
        let list = try heap.makeList([before])
        for _ in 0..<20 { try heap.append(list, before) }
        XCTAssertEqual(heap.allocationTraceback(of: list)?.frames, frames)
        XCTAssertNil(heap.allocationTraceback(of: before), "allocated before tracing started")
        let (current, peak) = heap.tracer.tracedMemory()
        XCTAssertGreaterThan(current, 32, "the list's block and its grown item array")
        XCTAssertEqual(peak, max(peak, current))
        heap.release(list)
        heap.release(before)
        XCTAssertEqual(heap.tracer.tracedMemory().current, 0, "every traced block was freed")
        XCTAssertGreaterThanOrEqual(heap.tracer.tracedMemory().peak, current)
    }

    /// Objects freed in batches (a cascade, a collection's garbage) lose their traces as single frees
    /// do: a block handed out again must never carry an old trace.
    func testBatchedFreesForgetTheirTraces() throws {
        try heap.tracer.start(frames: 5)
        TraceContext.setCurrent(heap.tracer.intern(frames))
        let root = try heap.makeList()
        var node = root
        for index in 0..<10_000 {
            let next = try heap.makeList()
            try heap.append(node, next)
            let big = try heap.makeBytes([UInt8](repeating: 1, count: index % 7 == 0 ? 1_000 : 10))
            try heap.append(next, big)
            heap.release(big)
            heap.release(next)
            node = next
        }
        try heap.append(node, root)  // a cycle: the collector frees it as garbage
        heap.release(root)
        XCTAssertGreaterThan(heap.tracer.tracedMemory().current, 10_000 * 32)
        let found = try heap.collector.collect(generation: 2)
        XCTAssertEqual(found, 10_001, "the lists of the cycle (bytes are not tracked)")
        XCTAssertEqual(heap.tracer.tracedMemory().current, 0, "every traced block of the garbage was forgotten")

        let chain = try heap.makeList()
        var tail = chain
        for _ in 0..<10_000 {
            let next = try heap.makeList()
            try heap.append(tail, next)
            heap.release(next)
            tail = next
        }
        heap.release(chain)
        XCTAssertEqual(heap.tracer.tracedMemory().current, 0, "every traced block of the cascade was forgotten")
    }

    func testTheLimitCutsFramesAndNoContextMeansUnknown() throws {
        try heap.tracer.start(frames: 1)
        TraceContext.setCurrent(heap.tracer.intern(frames))
        let first = try heap.makeInt(1)
        XCTAssertEqual(heap.allocationTraceback(of: first)?.frames, [frames[0]])
        TraceContext.setCurrent(nil)
        let second = try heap.makeInt(2)
        XCTAssertEqual(heap.allocationTraceback(of: second)?.frames, [AllocationTracer.unknownFrame])
        heap.release(first)
        heap.release(second)
    }

    func testATokenFromAnEarlierRunIsNotUsed() throws {
        try heap.tracer.start(frames: 2)
        let stale = heap.tracer.intern(frames)
        heap.tracer.stop()
        try heap.tracer.start(frames: 2)
        _ = heap.tracer.intern([TraceFrame(filename: "other.heap", lineno: 1)])
        TraceContext.setCurrent(stale)
        let object = try heap.makeInt(3)
        XCTAssertEqual(heap.allocationTraceback(of: object)?.frames, [AllocationTracer.unknownFrame])
        heap.release(object)
    }

    func testStopForgetsAndStartTwiceKeepsTheFirstLimit() throws {
        XCTAssertThrowsError(try heap.tracer.start(frames: 0))
        try heap.tracer.start(frames: 3)
        try heap.tracer.start(frames: 9)
        XCTAssertEqual(heap.tracer.tracebackLimit, 3)
        let object = try heap.makeInt(4)
        heap.tracer.stop()
        XCTAssertEqual(heap.tracer.tracedMemory().current, 0)
        XCTAssertNil(heap.allocationTraceback(of: object))
        XCTAssertThrowsError(try heap.tracer.takeSnapshot()) { error in
            XCTAssertEqual((error as? HeapError)?.code, .state)
        }
        heap.release(object)
    }

    /// Four threads allocate and free while a fifth starts, stops, clears and snapshots; the traced
    /// size then equals what the traces add up to, and once all is freed nothing stays traced.
    func testConcurrentAllocationWhileTracingIsToggled() throws {
        let heap = self.heap!
        let frames = self.frames
        try heap.tracer.start(frames: 2)
        DispatchQueue.concurrentPerform(iterations: 5) { worker in
            if worker == 4 {
                for round in 0..<200 {
                    switch round % 4 {
                    case 0: heap.tracer.stop()
                    case 1: try? heap.tracer.start(frames: 2)
                    case 2: heap.tracer.clearTraces()
                    default: _ = try? heap.tracer.takeSnapshot()
                    }
                }
                return
            }
            for _ in 0..<200 {
                TraceContext.setCurrent(heap.tracer.intern(frames))
                var refs: [ObjectRef] = []
                for index in 0..<50 { refs.append(try! heap.makeInt(Int64(index), shard: worker)) }
                let list = try! heap.makeList(refs, shard: worker)
                for ref in refs { heap.release(ref, shard: worker) }
                heap.release(list, shard: worker)
            }
            TraceContext.setCurrent(nil)
        }
        try heap.tracer.start(frames: 2)
        let snapshot = try heap.tracer.takeSnapshot()
        XCTAssertEqual(snapshot.size, heap.tracer.tracedMemory().current)
        XCTAssertEqual(heap.tracer.tracedMemory().current, 0, "everything allocated was freed")
    }
}
