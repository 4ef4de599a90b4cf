import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A test-and-test-and-set spin lock over one atomic byte.
///
/// The heap's locks guard critical sections of a few dozen instructions (popping a block off a pool's
/// free list, appending one slot to a list), where a futex-backed mutex costs two locked operations and
/// a spin lock one: unlock is a plain releasing store. After a short spin the waiter yields the CPU, so
/// a preempted holder never burns a whole time slice of the other core.
///
/// The lock can live in raw arena memory (see ``ObjectLayout``): it is addressed through a pointer to an
/// `Atomic<UInt8>` whose zero value means unlocked.
@usableFromInline
struct SpinLock {
    @usableFromInline let word: UnsafeMutablePointer<Atomic<UInt8>>

    @inlinable
    init(_ word: UnsafeMutablePointer<Atomic<UInt8>>) {
        self.word = word
    }

    @inlinable
    func lock() {
        if word.pointee.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged {
            return
        }
        lockSlow()
    }

    @usableFromInline
    func lockSlow() {
        var spins = 0
        while true {
            if word.pointee.load(ordering: .relaxed) == 0,
                word.pointee.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged
            {
                return
            }
            spins += 1
            if spins > 64 {
                sched_yield()
                spins = 0
            }
        }
    }

    @inlinable
    func unlock() {
        word.pointee.store(0, ordering: .releasing)
    }

    @inlinable
    func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// A spin lock that owns its byte, for Swift-side structures (allocator shards, generation lists).
final class OwnedSpinLock: @unchecked Sendable {
    private let storage: UnsafeMutablePointer<Atomic<UInt8>>

    init() {
        // A whole cache line per lock: two shards' locks side by side would make their threads
        // invalidate each other's line on every acquisition (false sharing).
        storage = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
            .bindMemory(to: Atomic<UInt8>.self, capacity: 1)
        storage.initialize(to: Atomic<UInt8>(0))
    }

    deinit {
        storage.deinitialize(count: 1)
        storage.deallocate()
    }

    /// Takes the lock for a batch that spans several calls (``ArenaAllocator/freeBatch(_:)`` holds one
    /// shard's lock across a run of blocks); pair every call with ``unlock()``.
    @inline(__always)
    func lock() { SpinLock(storage).lock() }

    @inline(__always)
    func unlock() { SpinLock(storage).unlock() }

    @inline(__always)
    func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        let lock = SpinLock(storage)
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
