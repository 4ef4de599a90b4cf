#if canImport(Glibc)
    import Glibc
#endif

/// A value guarded by a pthread mutex, with a condition variable on the monotonic clock to wait for it
/// to change: the one blocking primitive of the collector, notify and journal threads.
///
/// pthreads rather than `Synchronization.Mutex` so the thread sanitizer sees every hand-off; the
/// monotonic clock so a wall-clock jump neither fires nor delays a watchdog ping.
public final class MonotonicCondition<Value>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var value: Value

    public init(_ value: Value) {
        self.value = value
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` with the value locked, then wakes every waiter.
    public func withLockAndBroadcast<R>(_ body: (inout Value) -> R) -> R {
        pthread_mutex_lock(mutex)
        defer {
            pthread_cond_broadcast(condition)
            pthread_mutex_unlock(mutex)
        }
        return body(&value)
    }

    /// Runs `body` with the value locked.
    public func withLock<R>(_ body: (inout Value) -> R) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body(&value)
    }

    /// Waits until `ready` holds or the monotonic clock passes `deadline` (nanoseconds, nil: no
    /// deadline), then runs `body` with the value still locked.
    public func wait<R>(until deadline: UInt64?, for ready: (Value) -> Bool, then body: (inout Value) -> R) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !ready(value) {
            guard let deadline else {
                pthread_cond_wait(condition, mutex)
                continue
            }
            var spec = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
            if pthread_cond_timedwait(condition, mutex, &spec) == ETIMEDOUT { break }
        }
        return body(&value)
    }
}

/// Monotonic time in nanoseconds (`CLOCK_MONOTONIC`, the clock systemd's `MONOTONIC_USEC=` uses).
public func monotonicNanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}
