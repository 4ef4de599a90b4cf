import Synchronization

/// The tracer's stripes: each a spin lock and the state it guards (the traces, and the byte counts of
/// the peak accounting), one per allocator shard and as many again for large payloads.
///
/// Layout: one raw, 128-byte aligned block, 256 bytes per stripe, so no two stripes
/// share a cache line (nor the adjacent line the CPU prefetches with it):
///
///     stripe i at base + 256·i:   [ lock: Atomic<UInt8> | pad 7 | State … ]  < 256 bytes
///
/// A stripe's state is read and written only with its lock held (``withStripe(_:_:)``), or with every
/// lock held (``withAll(_:)``, which takes them in index order; no one ever holds one stripe's lock
/// while waiting for another, so the two never deadlock).
///
/// The lock of small-block stripe i *is* allocator shard i's lock (``lockWord(_:)``): the shard takes
/// it for every allocation and free anyway, so a small block's trace is recorded and forgotten inside
/// the shard's critical section, with no lock of its own (``lockedState(_:)``), and the trace shares
/// a cache line with the lock.
final class TraceStripes: @unchecked Sendable {
    /// What one stripe guards.
    struct State {
        /// Small blocks' traces (the stripes of allocator shards).
        var pools = PoolTraces()
        /// Large payloads' traces (the other stripes).
        var table = TraceTable()
        /// The tracing run the stripe belongs to (``AllocationTracer`` bumps it at every start and
        /// stop); a thread's token from another run records the unknown traceback.
        var epoch: UInt32 = 0
        /// False while not tracing: a `record` that raced with `stop` changes nothing.
        var active = false
        /// The peak accounting's mode, the same in every stripe but for a lease (see
        /// ``AllocationTracer``).
        var mode = Mode.leasedOut
        /// While this stripe holds the lease: the highest total its allocations have made.
        var localPeak = 0
        /// Bytes of the traces in this stripe.
        var current = 0
        /// Below the peak: the bytes this stripe may hold before an allocation needs a cut.
        var budget = 0
        /// Bytes allocated here since the last cut: how the next cut shares out the headroom.
        var grown = 0

        /// Traces held.
        var count: Int { pools.count + table.count }
        /// Bytes of trace storage.
        var allocatedBytes: Int { pools.allocatedBytes + table.allocatedBytes }

        /// Forgets every trace and frees their storage.
        mutating func removeAll() {
            pools.removeAll()
            table.removeAll()
        }

        /// Calls `body` with every trace.
        func forEach(_ body: (TraceTable.Entry) -> Void) {
            pools.forEach(body)
            table.forEach(body)
        }
    }

    /// How a stripe counts toward the peak (see ``AllocationTracer``), changed only at cuts.
    enum Mode: UInt8 {
        /// Within its budget, topped up from the shared headroom H.
        case belowPeak
        /// Every allocation and free also counted in the shared total G.
        case atPeak
        /// The one stripe that may grow without a cut; G holds the other stripes' total.
        case leaseOwner
        /// Another stripe holds the lease, or no stripe yet (an open lease, which the next allocation
        /// takes): an allocation needs a cut, a free comes off G.
        case leasedOut
    }

    static let stride = 256
    static let stateOffset = 8

    let count: Int
    private let base: UnsafeMutableRawPointer

    init(count: Int) {
        precondition(MemoryLayout<State>.size <= Self.stride - Self.stateOffset, "a stripe must fit its lines")
        self.count = count
        base = .allocate(byteCount: count * Self.stride, alignment: 128)
        for index in 0..<count {
            let stripe = base + index * Self.stride
            stripe.bindMemory(to: Atomic<UInt8>.self, capacity: 1).initialize(to: Atomic<UInt8>(0))
            (stripe + Self.stateOffset).bindMemory(to: State.self, capacity: 1).initialize(to: State())
        }
    }

    deinit {
        for index in 0..<count {
            let state = self.state(index)
            state.pointee.removeAll()
            state.deinitialize(count: 1)
        }
        base.deallocate()
    }

    @inline(__always)
    private func lock(_ index: Int) -> SpinLock {
        SpinLock((base + index * Self.stride).assumingMemoryBound(to: Atomic<UInt8>.self))
    }

    @inline(__always)
    fileprivate func state(_ index: Int) -> UnsafeMutablePointer<State> {
        (base + index * Self.stride + Self.stateOffset).assumingMemoryBound(to: State.self)
    }

    /// Stripe `index`'s lock byte, for an allocator shard to take as its own lock; the stripes must
    /// outlive the shard (it keeps the tracer).
    func lockWord(_ index: Int) -> UnsafeMutablePointer<Atomic<UInt8>> {
        (base + index * Self.stride).assumingMemoryBound(to: Atomic<UInt8>.self)
    }

    /// Stripe `index`'s state, for a caller that holds its lock (a shard in its critical section).
    @inline(__always)
    func lockedState(_ index: Int) -> UnsafeMutablePointer<State> {
        state(index)
    }

    /// Runs `body` on stripe `index` with its lock held.
    @inline(__always)
    func withStripe<R>(_ index: Int, _ body: (inout State) -> R) -> R {
        let lock = self.lock(index)
        lock.lock()
        defer { lock.unlock() }
        return body(&state(index).pointee)
    }

    /// Runs `body` with every stripe's lock held (a cut: no trace changes meanwhile).
    func withAll<R>(_ body: (Cut) -> R) -> R {
        for index in 0..<count { lock(index).lock() }
        defer { for index in 0..<count { lock(index).unlock() } }
        return body(Cut(stripes: self))
    }

    /// Every stripe's state while ``withAll(_:)`` holds all the locks; valid only during that call.
    struct Cut {
        fileprivate let stripes: TraceStripes

        var indices: Range<Int> { 0..<stripes.count }

        subscript(index: Int) -> State {
            unsafeAddress { UnsafePointer(stripes.state(index)) }
            nonmutating unsafeMutableAddress { stripes.state(index) }
        }

        /// Bytes traced in all stripes.
        var current: Int { indices.reduce(0) { $0 + self[$1].current } }
    }
}
