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

extension Measure {
    /// The floor under every pause that waits for a thread: one thread per core spins reading the
    /// clock for `seconds`, and the longest gap between two reads is the longest the kernel (or the
    /// hypervisor) kept one of them off its core. A stop that waits for a mutator preempted inside the
    /// gate waits that long, whatever the collector does. Returns the longest gap and how many gaps
    /// exceeded 1 ms, in seconds and a count.
    static func schedulingGaps(threads: Int = 2, seconds: Double = 3) -> (longest: Double, overOneMillisecond: Int) {
        let longest = Atomic<UInt64>(0)
        let overOne = Atomic<Int>(0)
        let done = DispatchGroup()
        for _ in 0..<threads {
            done.enter()
            Thread {
                var spec = timespec()
                func nanoseconds() -> UInt64 {
                    clock_gettime(CLOCK_MONOTONIC, &spec)
                    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
                }
                let end = nanoseconds() + UInt64(seconds * 1e9)
                var last = nanoseconds()
                var worst: UInt64 = 0
                var over = 0
                while last < end {
                    let now = nanoseconds()
                    let gap = now - last
                    if gap > worst { worst = gap }
                    if gap > 1_000_000 { over += 1 }
                    last = now
                }
                longest.max(worst, ordering: .relaxed)
                overOne.add(over, ordering: .relaxed)
                done.leave()
            }.start()
        }
        done.wait()
        return (Double(longest.load(ordering: .relaxed)) / 1e9, overOne.load(ordering: .relaxed))
    }
}

/// A mutable cell shared with worker closures (set before they start, read after they end).
final class Box<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}
