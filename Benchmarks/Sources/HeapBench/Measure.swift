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
    ///
    /// The workers read the clock themselves, from the first one's start to the last one's end. The
    /// waiting main thread used to: it woke up to a scheduler tick late on this VM (every figure came
    /// in steps of ~4 ms per run, so 48-byte blocks measured 6.9, 10.6 or 14.7 ns for the same code).
    static func throughput(
        threads: Int, iterations: Int, repeats: Int = 5, _ body: @escaping @Sendable (Int, Int) -> Void
    ) -> Double {
        var rates: [Double] = []
        for _ in 0..<repeats {
            let ready = Atomic<Int>(0)
            let done = DispatchGroup()
            let times = LockedTimes(threads)
            let workers = (0..<threads).map { index in
                Thread {
                    ready.add(1, ordering: .relaxed)
                    while ready.load(ordering: .relaxed) < threads {}
                    let start = now()
                    body(index, iterations)
                    times.record(index, start: start, end: now())
                    done.leave()
                }
            }
            for worker in workers {
                done.enter()
                worker.start()
            }
            done.wait()
            rates.append(Double(threads * iterations) / times.span)
        }
        return median(rates)
    }

    /// Each worker's start and end, read by the main thread once all are done.
    final class LockedTimes: @unchecked Sendable {
        private let lock = NSLock()
        private var starts: [Double]
        private var ends: [Double]

        init(_ count: Int) {
            starts = Array(repeating: .infinity, count: count)
            ends = Array(repeating: 0, count: count)
        }

        func record(_ index: Int, start: Double, end: Double) {
            lock.withLock {
                starts[index] = start
                ends[index] = end
            }
        }

        /// From the first start to the last end.
        var span: Double { lock.withLock { ends.max()! - starts.min()! } }
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
