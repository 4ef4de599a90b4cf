import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The stop-the-world gate between mutators and the cycle collector.
///
/// A mutator (a session executing a command, or a chunk of pipelined commands) runs inside
/// ``shared(_:)``; the collector and the heap verifier run inside ``exclusive(_:)``, and while they do
/// no mutator runs, so every reference count is stable. Reference-count operations never touch the
/// gate: they are atomic and lock-free inside a section that already holds it.
///
/// Why not a reader-writer lock: its writer sleeps until the last reader leaves and then waits to be
/// scheduled again, and that wake-up (tens of microseconds) would be part of every collection's pause.
/// Here the collector announces a stop (`stopping`), then *spins* until the count of mutators inside
/// (`active`) drops to zero, which takes as long as the commands in flight; mutators that arrive while
/// a stop is announced wait on a condition variable until it ends. The handshake is Dekker's: a
/// mutator increments `active` then reads `stopping`; the collector sets `stopping` then reads
/// `active`; with sequentially consistent operations at least one of them sees the other.
///
/// A thread must never take the gate twice (a nested `shared` would deadlock against a waiting stop).
public final class MutatorGate: @unchecked Sendable {
    private let active = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    /// Serializes stoppers (collector, verifier, freeze) and parks mutators during a stop.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let resumed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let stopperMutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    public init() {
        pthread_mutex_init(mutex, nil)
        pthread_mutex_init(stopperMutex, nil)
        pthread_cond_init(resumed, nil)
    }

    deinit {
        pthread_cond_destroy(resumed)
        pthread_mutex_destroy(mutex)
        pthread_mutex_destroy(stopperMutex)
        resumed.deallocate()
        mutex.deallocate()
        stopperMutex.deallocate()
    }

    /// Runs `body` as a mutator.
    @inline(__always)
    public func shared<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        enter()
        defer { active.subtract(1, ordering: .releasing) }
        return try body()
    }

    @inline(__always)
    private func enter() {
        active.add(1, ordering: .sequentiallyConsistent)
        if stopping.load(ordering: .sequentiallyConsistent) { enterSlow() }
    }

    private func enterSlow() {
        // A stop is announced: step back out and wait for it to end, then try again.
        while true {
            active.subtract(1, ordering: .releasing)
            pthread_mutex_lock(mutex)
            while stopping.load(ordering: .acquiring) { pthread_cond_wait(resumed, mutex) }
            pthread_mutex_unlock(mutex)
            active.add(1, ordering: .sequentiallyConsistent)
            if !stopping.load(ordering: .sequentiallyConsistent) { return }
        }
    }

    /// Whether a stopper announced a stop and waits for the mutators to leave.
    public var isStopPending: Bool { stopping.load(ordering: .relaxed) }

    /// At a safepoint of a long mutator (``Safepoint``): if a stop is announced, leaves the gate, waits
    /// for the stop to end and enters again; returns whether it did. Call only from inside ``shared(_:)``,
    /// once: the caller's own hold is the one given up. Everything the caller holds must be visible to
    /// the stopper before this is called (published under the `active` decrement's release ordering).
    @discardableResult
    public func yieldToStop() -> Bool {
        guard stopping.load(ordering: .sequentiallyConsistent) else { return false }
        enterSlow()
        return true
    }

    /// Runs `body` with every mutator stopped.
    public func exclusive<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(stopperMutex)
        defer { pthread_mutex_unlock(stopperMutex) }
        stop()
        defer { resume() }
        return try body()
    }

    /// Runs `body` with every mutator stopped, then `after` as a mutator, with no stop in between: the
    /// caller is counted inside the gate before the stop ends, so a stopper that comes next waits for
    /// `after` to finish, as for any mutator.
    ///
    /// Why: a collection finds its garbage with the world stopped, but freeing that garbage's memory
    /// needs no stop (nothing can reach it); the mutators run meanwhile. No stop may come between the
    /// two, since a stopped-world reader (`DEBUG VERIFY`, a heap image) would find objects that are
    /// neither reachable nor freed.
    public func exclusive<R, T>(_ body: () -> R, thenShared after: (R) -> T) -> T {
        pthread_mutex_lock(stopperMutex)
        stop()
        let result = body()
        active.add(1, ordering: .sequentiallyConsistent)
        resume()
        pthread_mutex_unlock(stopperMutex)
        defer { active.subtract(1, ordering: .releasing) }
        return after(result)
    }

    /// Announces a stop and spins until the mutators inside have left. Caller holds `stopperMutex`.
    private func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        var spins = 0
        // Invariant: no mutator enters while `stopping` is set; wait for those inside to leave.
        while active.load(ordering: .sequentiallyConsistent) != 0 {
            spins += 1
            if spins > 2_000 { sched_yield() }
        }
    }

    /// Ends a stop and wakes the parked mutators. Caller holds `stopperMutex`.
    private func resume() {
        pthread_mutex_lock(mutex)
        stopping.store(false, ordering: .sequentiallyConsistent)
        pthread_cond_broadcast(resumed)
        pthread_mutex_unlock(mutex)
    }
}
