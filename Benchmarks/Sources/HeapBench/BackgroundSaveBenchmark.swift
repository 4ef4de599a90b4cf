import Foundation
import HeapCore
import Synchronization

/// `BGSAVE` on the image benchmark's heap (`Benchmarks/run.sh image`): two mutator threads change the
/// heap's existing lists (append and pop an int: each first change of a list makes the capture copy
/// it) while a background capture runs; printed are the capture's two stops (what every mutator
/// waits for), the mutators' operation latencies during captures against the same mutators with no
/// capture, and how long a capture takes to copy the heap.
enum BackgroundSaveBenchmark {
    static func report(heap: Heap, root: ObjectRef, repeats: Int = 5) {
        let groups = try! heap.length(of: root)
        let quiet = mutatorLatencies(heap, root: root, groups: groups, while: { usleep(300_000) })
        var starts: [Double] = []
        var ends: [Double] = []
        var copies: [Double] = []
        var works: [Double] = []
        let during = mutatorLatencies(heap, root: root, groups: groups) {
            for _ in 0..<repeats {
                let started = Measure.now()
                let capture = heap.beginBackgroundCapture { _ in (["root": root], []) }!
                let begun = Measure.now()
                let image = capture.finish()
                copies.append(Measure.now() - begun)
                starts.append(begun - started)
                ends.append(Double(capture.endPauseNanoseconds) / 1e9)
                works.append(Double(max(capture.stopWorkNanoseconds.start, capture.stopWorkNanoseconds.end)) / 1e9)
                precondition(image.objectCount > 0)
            }
        }
        print(
            String(
                format:
                    "BGSAVE stops (copy-on-write capture, 2 mutator threads): start median %.1f µs max %.1f µs, end median %.1f µs max %.1f µs",
                Measure.median(starts) * 1e6, starts.max()! * 1e6, Measure.median(ends) * 1e6, ends.max()! * 1e6))
        print(
            String(
                format: "  of which work inside the stops (the rest is the mutators' way out of the gate): max %.1f µs",
                works.max()! * 1e6))
        print(
            String(
                format: "BGSAVE copy while the mutators run: median %.1f ms (SAVE's stopped capture: see above)",
                Measure.median(copies) * 1e3))
        print(
            String(
                format:
                    "mutator operation latency: no capture p50 %.1f µs p99 %.1f µs max %.1f µs; during captures p50 %.1f µs p99 %.1f µs max %.1f µs",
                quiet.p50 * 1e6, quiet.p99 * 1e6, quiet.max * 1e6, during.p50 * 1e6, during.p99 * 1e6,
                during.max * 1e6))
    }

    /// The latencies of two mutator threads' operations (inside the gate: take a group list, append an
    /// int, pop it) while `body` runs.
    private static func mutatorLatencies(_ heap: Heap, root: ObjectRef, groups: Int, while body: () -> Void)
        -> (p50: Double, p99: Double, max: Double)
    {
        let stop = Atomic<Bool>(false)
        let done = DispatchGroup()
        let latencies = Mutex<[Double]>([])
        for thread in 0..<2 {
            done.enter()
            Thread {
                var mine: [Double] = []
                // xorshift: the system generator's getrandom() per operation was a tenth of the profile.
                var state = UInt64(0x9E37_79B9_7F4A_7C15) &+ UInt64(thread)
                while !stop.load(ordering: .relaxed) {
                    state ^= state << 13
                    state ^= state >> 7
                    state ^= state << 17
                    let index = Int(state % UInt64(groups))
                    let started = Measure.now()
                    heap.gate.shared {
                        let list = try! heap.item(root, at: index)
                        let value = try! heap.makeInt(Int64(index), shard: thread)
                        try! heap.append(list, value, shard: thread)
                        heap.release(value, shard: thread)
                        heap.release(try! heap.pop(list, shard: thread), shard: thread)
                        heap.release(list, shard: thread)
                    }
                    mine.append(Measure.now() - started)
                }
                latencies.withLock { $0.append(contentsOf: mine) }
                done.leave()
            }.start()
        }
        body()
        stop.store(true, ordering: .relaxed)
        done.wait()
        let sorted = latencies.withLock { $0 }.sorted()
        guard !sorted.isEmpty else { return (0, 0, 0) }
        return (sorted[sorted.count / 2], sorted[min(sorted.count - 1, sorted.count * 99 / 100)], sorted.last!)
    }
}
