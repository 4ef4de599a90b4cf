import Dispatch
import Foundation
import XCTest

@testable import HeapCore

/// The striped trace tables under the tracer: the hash table and the pool side arrays against a
/// dictionary, the peak exact through every switch between its two modes, and threads allocating and
/// freeing across shards while another takes snapshots.
final class StripedTracesTests: XCTestCase {
    /// A small deterministic generator (SplitMix64), so a failure names a reproducible seed.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Runs `body(i)` on `count` new threads and waits for them all.
    static func runThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let done = DispatchGroup()
        for index in 0..<count {
            done.enter()
            Thread {
                body(index)
                done.leave()
            }.start()
        }
        done.wait()
    }

    func testTheHashTableAgreesWithADictionary() {
        var table = TraceTable()
        defer { table.removeAll() }
        var model: [UInt: (Int, UInt32)] = [:]
        var random = Generator(state: 7)
        // Dense 16-byte aligned keys, as block addresses are: long clusters for the backward shift.
        for step in 0..<200_000 {
            let key = UInt(0x7000_0000 + 16 * Int.random(in: 0..<4096, using: &random))
            if Bool.random(using: &random) {
                let size = Int.random(in: 1...4096, using: &random)
                let replaced = table.insert(key, size: size, traceback: UInt32(step))
                XCTAssertEqual(replaced, model.updateValue((size, UInt32(step)), forKey: key)?.0)
            } else {
                XCTAssertEqual(table.remove(key), model.removeValue(forKey: key)?.0, "step \(step)")
            }
            if step % 10_000 == 0 {
                for (key, value) in model {
                    XCTAssertEqual(table.lookup(key)?.size, value.0)
                    XCTAssertEqual(table.lookup(key)?.traceback, value.1)
                }
            }
        }
        XCTAssertEqual(table.count, model.count)
        var seen = 0
        table.forEach { entry in
            seen += 1
            XCTAssertEqual(model[entry.address]?.0, entry.size)
        }
        XCTAssertEqual(seen, model.count)
    }

    func testPoolSideArraysAgreeWithADictionaryAndReuseEmptiedArrays() {
        var pools = PoolTraces()
        defer { pools.removeAll() }
        var model: [UInt: Int] = [:]
        var random = Generator(state: 11)
        // Eight pools; keys past each pool's 48-byte header, 16-byte aligned.
        for step in 0..<100_000 {
            let pool = UInt(0x4000_0000 + PoolTraces.poolSize * Int.random(in: 0..<8, using: &random))
            let key = pool + UInt(48 + 16 * Int.random(in: 0..<64, using: &random))
            if Int.random(in: 0..<3, using: &random) > 0 {
                let size = Int.random(in: 0...512, using: &random)
                XCTAssertEqual(pools.insert(key, size: size, traceback: 3), model.updateValue(size, forKey: key))
            } else {
                XCTAssertEqual(pools.remove(key), model.removeValue(forKey: key), "step \(step)")
            }
            if step % 5_000 == 0 {
                // Drain one pool completely: its array retires, and comes back zeroed.
                for key in model.keys where key & ~UInt(PoolTraces.poolSize - 1) == pool {
                    XCTAssertEqual(pools.remove(key), model.removeValue(forKey: key))
                }
                XCTAssertNil(pools.lookup(pool + 48))
            }
        }
        XCTAssertEqual(pools.count, model.count)
        var seen: [UInt: Int] = [:]
        pools.forEach { seen[$0.address] = $0.size }
        XCTAssertEqual(seen, model)
        for (key, size) in model { XCTAssertEqual(pools.lookup(key)?.size, size) }
    }

    /// One thread, blocks of every kind on four shards, large ones too, with frees that cross the
    /// switching thresholds both ways, `reset_peak` and `clear_traces`: after every step the
    /// tracer's current and peak equal the ones counted here.
    func testThePeakIsExactThroughEveryModeSwitch() throws {
        let allocator = ArenaAllocator(shardCount: 4)
        let tracer = allocator.tracer
        try tracer.start(frames: 1)
        defer { tracer.stop() }
        var random = Generator(state: 3)
        var live: [(UnsafeMutableRawPointer, Int, Int)] = []
        var current = 0
        var peak = 0
        for step in 0..<20_000 {
            let phase = (step / 700) % 3  // grow, shrink, churn: the total crosses its peak often
            let allocate =
                phase == 0
                ? Int.random(in: 0..<4, using: &random) > 0
                : phase == 1 ? Int.random(in: 0..<4, using: &random) == 0 : Bool.random(using: &random)
            if allocate || live.isEmpty {
                let size =
                    Int.random(in: 0..<10, using: &random) == 0
                    ? Int.random(in: 513...6000, using: &random) : Int.random(in: 1...512, using: &random)
                let shard = Int.random(in: 0..<4, using: &random)
                live.append((allocator.allocate(size: size, shard: shard)!, size, shard))
                current += size
                peak = max(peak, current)
            } else {
                let (block, size, shard) = live.remove(at: Int.random(in: 0..<live.count, using: &random))
                // Freed through another shard than it came from, as another session would.
                allocator.free(block, size: size, shard: (shard + 1) % 4)
                current -= size
            }
            if step % 5_000 == 4_999 {
                tracer.resetPeak()
                peak = current
            }
            if step == 12_345 {
                tracer.clearTraces()
                current = 0
                peak = 0
                // Blocks allocated before the clear are no longer traced: forget them here too.
                for (block, size, _) in live { allocator.free(block, size: size, shard: 0) }
                live = []
            }
            let (tracedCurrent, tracedPeak) = tracer.tracedMemory()
            XCTAssertEqual(tracedCurrent, current, "step \(step)")
            XCTAssertEqual(tracedPeak, peak, "step \(step)")
            if tracedCurrent != current || tracedPeak != peak { return }
        }
        let snapshot = try tracer.takeSnapshot()
        XCTAssertEqual(snapshot.traces.count, live.count)
        XCTAssertEqual(snapshot.size, current)
        for (block, size, shard) in live { allocator.free(block, size: size, shard: shard) }
        XCTAssertEqual(tracer.tracedMemory().current, 0)
    }

    /// Threads each allocate their share, wait for one another, and free it: at the barrier every
    /// block is live, so the peak is exactly the sum of the shares, however the threads interleaved.
    func testThePeakIsExactWithConcurrentThreads() throws {
        let threads = 4
        let allocator = ArenaAllocator(shardCount: threads)
        let tracer = allocator.tracer
        try tracer.start(frames: 1)
        defer { tracer.stop() }
        for round in 0..<5 {
            tracer.resetPeak()
            let barrier = DispatchGroup()
            for _ in 0..<threads { barrier.enter() }
            let shares = (0..<threads).map { 20_000 + 1_000 * $0 + round }
            // Threads of their own: the barrier needs all of them running at once, which
            // concurrentPerform does not promise on a 2-core machine.
            Self.runThreads(threads) { thread in
                var blocks: [(UnsafeMutableRawPointer, Int)] = []
                var left = shares[thread]
                var size = 1
                while left > 0 {
                    let take = min(left, size <= 512 ? size : 700)
                    blocks.append((allocator.allocate(size: take, shard: thread)!, take))
                    left -= take
                    size = size % 600 + 7
                }
                barrier.leave()
                barrier.wait()
                for (block, size) in blocks { allocator.free(block, size: size, shard: (thread + 1) % threads) }
            }
            let (current, peak) = tracer.tracedMemory()
            XCTAssertEqual(current, 0, "round \(round)")
            XCTAssertEqual(peak, shares.reduce(0, +), "round \(round)")
        }
    }

    /// One stripe grows to a new peak under a lease while another stripe's blocks are freed: the
    /// owner's total must see those frees (else the peak runs ahead of the memory), and a block on the
    /// other stripe ends the lease (two stripes growing). Checked against a model after every step.
    func testALeasedStripeCountsTheOtherStripesFrees() throws {
        let allocator = ArenaAllocator(shardCount: 2)
        let tracer = allocator.tracer
        try tracer.start(frames: 1)
        defer { tracer.stop() }
        var live: [[UnsafeMutableRawPointer]] = [[], []]
        var current = 0
        var peak = 0
        func check(_ step: String) {
            let (tracedCurrent, tracedPeak) = tracer.tracedMemory()
            XCTAssertEqual(tracedCurrent, current, step)
            XCTAssertEqual(tracedPeak, peak, step)
        }
        func allocate(_ bytes: Int, shard: Int, _ step: String) {
            for _ in 0..<(bytes / 256) {
                live[shard].append(allocator.allocate(size: 256, shard: shard)!)
                current += 256
                peak = max(peak, current)
            }
            check(step)
        }
        func free(_ bytes: Int, shard: Int, _ step: String) {
            for _ in 0..<(bytes / 256) {
                allocator.free(live[shard].removeLast(), size: 256, shard: shard)
                current -= 256
            }
            check(step)
        }
        allocate(30_720, shard: 0, "grow shard 0")
        allocate(20_480, shard: 1, "grow shard 1")
        tracer.resetPeak()
        peak = current
        free(20_480, shard: 0, "free 20 KiB of shard 0 (the next allocation's cut shares the headroom)")
        allocate(30_720, shard: 0, "shard 0 passes the peak: a lease")
        free(10_240, shard: 1, "shard 1 frees under the lease")
        allocate(8_192, shard: 0, "shard 0 grows again, still 2 KiB under its peak")
        allocate(4_096, shard: 0, "and then past it")
        allocate(2_048, shard: 1, "shard 1 grows: the lease ends")
        allocate(2_048, shard: 0, "shard 0 grows at the peak")
        free(8_192, shard: 0, "shard 0 frees 8 KiB")
        for shard in 0..<2 { free(live[shard].count * 256, shard: shard, "all freed on shard \(shard)") }
        XCTAssertEqual(tracer.tracedMemory().current, 0)
    }

    /// Two threads take turns: each holds a resident share, and on its turn allocates an amount and
    /// frees it before handing the turn over (a semaphore, so the frees happen before the other's
    /// allocations). Headroom one thread frees reaches the other through the shared pool, with no cut;
    /// the peak must still be exact: the residents plus the largest turn, neither more (a budget that
    /// outlived its free) nor less (headroom counted twice would let a new peak pass unseen). Some
    /// turns pass the largest so far by less than a block or two.
    func testThreadsTakingTurnsShareHeadroomAndKeepThePeakExact() throws {
        let allocator = ArenaAllocator(shardCount: 2)
        let tracer = allocator.tracer
        try tracer.start(frames: 1)
        defer { tracer.stop() }
        var random = Generator(state: 11)
        let turns = 60
        let amounts = (0..<turns).map { turn in
            turn % 7 == 6 ? 40_000 + turn * 16 : Int.random(in: 1_000...39_000, using: &random)
        }
        let residents = [12_345, 23_456]
        let turnsToGo = [DispatchSemaphore(value: 1), DispatchSemaphore(value: 0)]
        let resident = DispatchGroup()
        resident.enter()
        resident.enter()
        let residentsHeld = DispatchSemaphore(value: 0)
        Self.runThreads(2) { thread in
            func allocate(_ total: Int, seed: UInt64) -> [(UnsafeMutableRawPointer, Int)] {
                var random = Generator(state: seed)
                var blocks: [(UnsafeMutableRawPointer, Int)] = []
                var left = total
                while left > 0 {
                    let size = min(left, Int.random(in: 1...512, using: &random))
                    blocks.append((allocator.allocate(size: size, shard: thread)!, size))
                    left -= size
                }
                return blocks
            }
            let kept = allocate(residents[thread], seed: UInt64(thread))
            resident.leave()
            if thread == 0 {
                resident.wait()
                tracer.resetPeak()
                residentsHeld.signal()
            }
            residentsHeld.wait()
            residentsHeld.signal()
            for turn in stride(from: thread, to: turns, by: 2) {
                turnsToGo[thread].wait()
                for (block, size) in allocate(amounts[turn], seed: UInt64(100 + turn)) {
                    allocator.free(block, size: size, shard: thread)
                }
                turnsToGo[1 - thread].signal()
            }
            turnsToGo[thread].wait()
            turnsToGo[1 - thread].signal()
            for (block, size) in kept { allocator.free(block, size: size, shard: thread) }
        }
        let (current, peak) = tracer.tracedMemory()
        XCTAssertEqual(current, 0)
        XCTAssertEqual(peak, residents.reduce(0, +) + amounts.max()!)
    }

    /// Threads allocate and free traced objects, each on its own shard and some freed on another's,
    /// while one more thread takes snapshots and reads the traced memory. Every snapshot holds only
    /// traces the workers made, with their tracebacks; at the end the kept objects are traced
    /// exactly, and after they are freed nothing is.
    func testThreadsAllocatingAndFreeingWhileAnotherTakesSnapshots() throws {
        let heap = Heap(configuration: HeapConfiguration(maxObjects: 1 << 20, shardCount: 4))
        try heap.tracer.start(frames: 3)
        defer { heap.tracer.stop() }
        let workers = 4
        let keptPerWorker = 300
        let frames = (0..<workers).map { [TraceFrame(filename: "worker\($0).heap", lineno: $0 + 1)] }
        let kept = LockedValue<[ObjectRef]>([])
        let running = LockedValue(workers)
        let snapshots = LockedValue(0)
        DispatchQueue.concurrentPerform(iterations: workers + 1) { worker in
            if worker == workers {
                while running.withLock({ $0 }) > 0 {
                    guard let snapshot = try? heap.tracer.takeSnapshot() else { continue }
                    for trace in snapshot.traces {
                        XCTAssert(frames.contains(trace.traceback.frames), "a trace no worker made")
                    }
                    let (current, peak) = heap.tracer.tracedMemory()
                    XCTAssertLessThanOrEqual(current, peak)
                    snapshots.withLock { $0 += 1 }
                }
                return
            }
            TraceContext.setCurrent(heap.tracer.intern(frames[worker]))
            defer { TraceContext.setCurrent(nil) }
            var mine: [ObjectRef] = []
            for round in 0..<100 {
                var refs: [ObjectRef] = []
                for index in 0..<40 { refs.append(try! heap.makeStr(String(repeating: "x", count: index))) }
                let list = try! heap.makeList(refs, shard: worker)
                // Half the strings die on the next worker's shard, as objects shared between sessions do.
                for (index, ref) in refs.enumerated() { heap.release(ref, shard: index % 2 == 0 ? worker : worker + 1) }
                if round % 10 == 0 { mine.append(try! heap.makeInt(Int64(round), shard: worker)) }
                if mine.count < keptPerWorker / 10 { mine.append(try! heap.makeFloat(1.5, shard: worker)) }
                heap.release(list, shard: worker)
            }
            kept.withLock { $0 += mine }
            running.withLock { $0 -= 1 }
        }
        XCTAssertGreaterThan(snapshots.withLock { $0 }, 0, "the snapshot thread ran")
        let refs = kept.withLock { $0 }
        let snapshot = try heap.tracer.takeSnapshot()
        XCTAssertEqual(snapshot.traces.count, refs.count, "exactly the kept objects are traced")
        XCTAssertEqual(snapshot.size, refs.count * 16, "each an int or a float of 16 bytes")
        XCTAssertEqual(heap.tracer.tracedMemory().current, snapshot.size)
        for ref in refs {
            let traceback = heap.allocationTraceback(of: ref)
            XCTAssertNotNil(traceback)
            XCTAssert(traceback.map { frames.contains($0.frames) } ?? false)
        }
        for ref in refs { heap.release(ref) }
        XCTAssertEqual(heap.tracer.tracedMemory().current, 0)
        XCTAssertEqual(try heap.tracer.takeSnapshot().traces.count, 0)
    }
}
