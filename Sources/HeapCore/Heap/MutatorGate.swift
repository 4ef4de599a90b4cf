#if canImport(Glibc)
    import Glibc
#endif

/// The stop-the-world gate between mutators and the cycle collector.
///
/// A mutator (a session executing a command, or a burst of pipelined commands) holds the gate shared; the
/// collector and the heap verifier hold it exclusively, so while they walk the object graph no mutator
/// runs and every reference count is stable. Reference-count operations themselves never touch the gate:
/// they are atomic and lock-free inside any section that already holds it.
///
/// The lock prefers writers (`PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP`), so a steady stream of
/// mutators cannot starve a collection; in exchange a thread must never take the gate twice.
public final class MutatorGate: @unchecked Sendable {
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    public init() {
        lock = .allocate(capacity: 1)
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        pthread_rwlock_init(lock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// Runs `body` as a mutator.
    @inline(__always)
    public func shared<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    /// Runs `body` with every mutator stopped.
    public func exclusive<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}
