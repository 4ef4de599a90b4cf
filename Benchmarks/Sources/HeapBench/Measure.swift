import Foundation
import Synchronization

/// Timing helpers: monotonic clock, medians, and running the same body on N threads at once.
enum Measure {
    /// HEAPBENCH_CLOCK=thread measures the calling thread's CPU time instead of wall time: on a busy
    /// shared machine, time the thread spent preempted then does not count (single-threaded bodies only).
    static let clock =
        ProcessInfo.processInfo.environment["HEAPBENCH_CLOCK"] == "thread"
        ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC

    static func now() -> Double {
        var spec = timespec()
        clock_gettime(clock, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted[sorted.count / 2]
    }

    /// Operations per second of `body(thread, iterations)` run on `threads` threads started together;
    /// the median of `repeats` runs.
    static func throughput(
        threads: Int, iterations: Int, repeats: Int = 5, _ body: @escaping @Sendable (Int, Int) -> Void
    ) -> Double {
        var rates: [Double] = []
        for _ in 0..<repeats {
            let ready = Atomic<Int>(0)
            let done = DispatchGroup()
            let start = Box(0.0)
            let workers = (0..<threads).map { index in
                Thread {
                    ready.add(1, ordering: .relaxed)
                    while ready.load(ordering: .relaxed) < threads {}
                    body(index, iterations)
                    done.leave()
                }
            }
            for worker in workers {
                done.enter()
                worker.start()
            }
            while ready.load(ordering: .relaxed) < threads {}
            start.value = now()
            done.wait()
            let elapsed = now() - start.value
            rates.append(Double(threads * iterations) / elapsed)
        }
        return median(rates)
    }
}

/// A mutable cell shared with worker closures (set before they start, read after they end).
final class Box<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}
