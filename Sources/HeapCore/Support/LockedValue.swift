#if canImport(Glibc)
    import Glibc
#endif

/// A value guarded by a `pthread_mutex_t`.
///
/// Used instead of the standard library's `Mutex` because the thread sanitizer intercepts pthread
/// mutexes but does not see the futex hand-off inside the (uninstrumented) `Synchronization` module,
/// and reports false races on contended `Mutex` sections. For short sections off the hot paths.
public final class LockedValue<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    /// In raw memory rather than a class `var`, which would pay a dynamic exclusivity check per access.
    private let value: UnsafeMutablePointer<Value>

    public init(_ value: Value) {
        self.value = .allocate(capacity: 1)
        self.value.initialize(to: value)
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        value.deinitialize(count: 1)
        value.deallocate()
    }

    /// Runs `body` with exclusive access to the value.
    @inline(__always)
    public func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value.pointee)
    }

    /// Runs `body` with exclusive access to the value if the lock is free now; nil if another thread
    /// holds it (never waits).
    @inline(__always)
    public func withLockIfAvailable<R>(_ body: (inout Value) -> R) -> R? {
        guard pthread_mutex_trylock(mutex) == 0 else { return nil }
        defer { pthread_mutex_unlock(mutex) }
        return body(&value.pointee)
    }
}
