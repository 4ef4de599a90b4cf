import Synchronization

// MARK: - Striped traces, and an exact peak without a shared counter on every allocation
//
// CPython guards its trace table, `traced_memory` and `peak_traced_memory` with one lock; so did this
// file, and tracing cost 4× an allocation. Now the traces live in stripes (``TraceStripes``), each
// with its own spin lock and hash table (``TraceTable``):
//
//     stripe 0 … n−1        small blocks of allocator shard i: the shard that owns the block's pool,
//                           so a block is always recorded and forgotten in the same stripe, and two
//                           threads meet on a stripe exactly when they meet on an allocator shard
//     stripe n … 2n−1       large payloads (malloc'd), by a hash of the address
//
// The bytes traced are counted per stripe (`current`); what is left is the peak, the highest total
// ever reached, which a sum of per-stripe peaks would overstate. The tracer runs in one of two modes,
// the same in every stripe, changed only at a *cut* (every stripe's lock held, taken in index order):
//
// - **At the peak.** Each traced allocation and free also adds its size to one atomic total G
//   (inside its stripe's lock), and the peak P is the atomic maximum of G. G's modification order is
//   an order of all the operations consistent with each stripe's, so P is exact. This costs two
//   shared atomics per block; it is the mode while memory grows (every allocation is a new peak).
// - **Below the peak.** Each stripe j has a budget b_j ≥ current_j, with Σ b_j ≤ P. An allocation
//   that keeps its stripe within budget cannot make the total pass P (Σ current_j ≤ Σ b_j ≤ P), so it
//   touches nothing shared. One that would pass it is done at a cut instead, where the total is
//   exact: a new peak switches to "at the peak", otherwise the headroom P − total is shared out as
//   new budgets, to each stripe in proportion to what it allocated since the last cut.
//
// Invariant, outside cuts: below the peak, current_j ≤ b_j in every stripe and Σ b_j ≤ P; at the
// peak, G = Σ current_j. Either way P is the largest total of any consistent state so far, so
// `get_traced_memory()`'s peak is exact, with any number of threads.
//
// The switches: a free that leaves the total `enterBudgetHeadroom` below P (at the peak) asks for a
// cut that switches to budgets; a cut below the peak that finds less than `leaveBudgetHeadroom` left
// switches back. The gap between the two keeps the switches (a cut costs every lock, ~0.2 µs) at
// most one per 4 KiB allocated.

/// tracemalloc for the heap: while tracing, every block the allocator hands out is recorded with its
/// size and the traceback of the command that asked for it, until it is freed.
///
/// The allocator asks ``isTracing`` (one relaxed atomic load) on every allocation and free; only
/// while it is true does it call in here, so tracing off costs one predictable branch. A block's trace
/// lives in one stripe (see the essay above): recording and forgetting it takes that stripe's lock.
/// Starting, stopping, clearing, snapshots and ``tracedMemory()`` take every stripe's lock, so each
/// sees one consistent state of all the traces.
///
/// Lock order: `control`, then the stripes (all, in index order), then `interned`. A thread that holds
/// one stripe's lock takes no other lock.
public final class AllocationTracer: @unchecked Sendable {
    /// Python's limit for `tracemalloc.start(nframe)`.
    public static let maxFrames = 65535
    /// The frame of an allocation made outside any command (the collector's thread, for one).
    public static let unknownFrame = TraceFrame(filename: "<unknown>", lineno: 0)
    /// At the peak, a free that leaves this much below it switches to budgets.
    static let enterBudgetHeadroom = 16 << 10
    /// Below the peak, a cut that finds less headroom than this switches to counting at the peak.
    static let leaveBudgetHeadroom = 4 << 10

    private let tracing = Atomic<Bool>(false)
    /// Serializes start, stop, clear, reset_peak, snapshots: what changes or reads the whole run.
    private let control = LockedValue(false)
    private let interned = LockedValue(Interned())
    private let stripes: TraceStripes
    private let shardCount: Int
    /// ``TraceContext``'s thread-local key, read here once rather than through its lazy global.
    private let contextKey = TraceContext.key
    /// G: the bytes traced, kept only at the peak. With `peak`, on a cache line of their own, away
    /// from `tracing`, which every allocation reads.
    private let total: UnsafeMutablePointer<Atomic<Int>>
    /// P: the peak.
    private let peak: UnsafeMutablePointer<Atomic<Int>>

    /// The tracebacks of one tracing run, each stored once; traces refer to them by index.
    struct Interned {
        var isTracing = false
        var limit = 1
        /// Bumped by every start and stop, so a thread's context token from another run is ignored.
        var epoch: UInt32 = 0
        /// Index 0 is always the unknown traceback while tracing.
        var tracebacks: [Traceback] = []
        var indexes: [Traceback: UInt32] = [:]

        mutating func intern(_ traceback: Traceback) -> UInt32 {
            if let index = indexes[traceback] { return index }
            let index = UInt32(tracebacks.count)
            tracebacks.append(traceback)
            indexes[traceback] = index
            return index
        }

        mutating func begin(limit: Int) {
            isTracing = true
            self.limit = limit
            epoch &+= 1
            tracebacks = []
            indexes = [:]
            _ = intern(Traceback(frames: [AllocationTracer.unknownFrame]))
        }

        mutating func end() {
            isTracing = false
            epoch &+= 1
            tracebacks = []
            indexes = [:]
        }
    }

    /// A tracer for an allocator of `shardCount` shards (small blocks are recorded in the stripe of
    /// the shard that owns them).
    public init(shardCount: Int = 1) {
        precondition(
            PoolTraces.poolSize == ArenaAllocator.poolSize && ArenaAllocator.poolHeaderSize <= 48,
            "PoolTraces assumes the allocator's 16 KiB pools with a header of at most 3 granules")
        self.shardCount = max(1, shardCount)
        stripes = TraceStripes(count: 2 * self.shardCount)
        total = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
            .bindMemory(to: Atomic<Int>.self, capacity: 2)
        total.initialize(to: Atomic<Int>(0))
        peak = total + 1
        peak.initialize(to: Atomic<Int>(0))
    }

    deinit {
        total.deinitialize(count: 2)
        total.deallocate()
    }

    // MARK: - tracemalloc's functions

    /// `tracemalloc.is_tracing()`; read on the allocation path.
    @inline(__always)
    public var isTracing: Bool { tracing.load(ordering: .relaxed) }

    /// `tracemalloc.start(nframe)`: does nothing when already tracing (CPython keeps the old limit).
    public func start(frames: Int) throws(HeapError) {
        guard frames >= 1, frames <= Self.maxFrames else {
            throw HeapError(.value, "the number of frames must be in range [1; \(Self.maxFrames)]")
        }
        control.withLock { isTracing in
            guard !isTracing else { return }
            let epoch = interned.withLock { interned in
                interned.begin(limit: frames)
                return interned.epoch
            }
            stripes.withAll { cut in
                for index in cut.indices {
                    cut[index].removeAll()
                    cut[index] = TraceStripes.State(epoch: epoch, active: true)
                }
                setTotals(current: 0, peak: 0)
            }
            isTracing = true
            tracing.store(true, ordering: .releasing)
        }
    }

    /// `tracemalloc.stop()`: stops and forgets every trace.
    public func stop() {
        control.withLock { isTracing in
            guard isTracing else { return }
            tracing.store(false, ordering: .releasing)
            isTracing = false
            stripes.withAll { cut in
                for index in cut.indices {
                    cut[index].removeAll()
                    cut[index] = TraceStripes.State()
                }
                setTotals(current: 0, peak: 0)
            }
            interned.withLock { $0.end() }
        }
    }

    /// `tracemalloc.get_traceback_limit()`.
    public var tracebackLimit: Int { interned.withLock { $0.limit } }

    /// `tracemalloc.get_traced_memory()`: bytes in traced blocks now and at their peak, both exact
    /// (read at a cut).
    public func tracedMemory() -> (current: Int, peak: Int) {
        stripes.withAll { cut in (cut.current, peak.pointee.load(ordering: .relaxed)) }
    }

    /// `tracemalloc.reset_peak()`: the peak becomes the current total.
    public func resetPeak() {
        control.withLock { _ in
            stripes.withAll { cut in countAtPeak(cut, total: cut.current, newPeak: cut.current) }
        }
    }

    /// `tracemalloc.clear_traces()`: forgets the traces; tracing goes on.
    public func clearTraces() {
        control.withLock { _ in
            stripes.withAll { cut in
                for index in cut.indices {
                    cut[index].removeAll()
                    cut[index].current = 0
                }
                countAtPeak(cut, total: 0, newPeak: 0)
            }
        }
    }

    /// `tracemalloc.get_tracemalloc_memory()`: an estimate of what the trace tables occupy.
    public func overheadBytes() -> Int {
        control.withLock { _ in
            var bytes = stripes.count * TraceStripes.stride
            bytes += stripes.withAll { cut in cut.indices.reduce(0) { $0 + cut[$1].allocatedBytes } }
            return interned.withLock { state in
                bytes += state.indexes.capacity * (MemoryLayout<Traceback>.stride + MemoryLayout<UInt32>.stride + 1)
                bytes += state.tracebacks.capacity * MemoryLayout<Traceback>.stride
                for traceback in state.tracebacks {
                    bytes += traceback.frames.count * MemoryLayout<TraceFrame>.stride + 32
                    for frame in traceback.frames where frame.filename.utf8.count > 15 {
                        bytes += frame.filename.utf8.count
                    }
                }
                return bytes
            }
        }
    }

    /// Interns `frames` (most recent first) cut to the traceback limit, and returns the token a thread
    /// sets with ``TraceContext/setCurrent(_:)``; nil when not tracing.
    public func intern(_ frames: [TraceFrame]) -> TraceContext.Token? {
        interned.withLock { state in
            guard state.isTracing else { return nil }
            let kept = frames.isEmpty ? [Self.unknownFrame] : Array(frames.prefix(state.limit))
            return TraceContext.Token(epoch: state.epoch, index: state.intern(Traceback(frames: kept)))
        }
    }

    /// `tracemalloc.get_object_traceback()` for the block at `address`: nil if it is not traced.
    public func traceback(of address: UnsafeRawPointer) -> Traceback? {
        let key = UInt(bitPattern: address)
        for index in 0..<stripes.count {
            let found = stripes.withStripe(index) { state in
                (index < shardCount ? state.pools.lookup(key) : state.table.lookup(key)).map {
                    (state.epoch, $0.traceback)
                }
            }
            guard let (epoch, traceback) = found else { continue }
            return interned.withLock { state in
                state.isTracing && state.epoch == epoch ? state.tracebacks[Int(traceback)] : nil
            }
        }
        return nil
    }

    /// `tracemalloc.take_snapshot()`; throws `STATE` when not tracing, as Python raises RuntimeError.
    public func takeSnapshot() throws(HeapError) -> TraceSnapshot {
        let copy = control.withLock { isTracing -> (Int, [TraceTable.Entry], [Traceback])? in
            guard isTracing else { return nil }
            let entries = stripes.withAll { cut in
                var entries: [TraceTable.Entry] = []
                entries.reserveCapacity(cut.indices.reduce(0) { $0 + cut[$1].count })
                for index in cut.indices { cut[index].forEach { entries.append($0) } }
                return entries
            }
            return interned.withLock { ($0.limit, entries, $0.tracebacks) }
        }
        guard let (limit, entries, tracebacks) = copy else {
            throw HeapError(.state, "the tracemalloc module must be tracing memory allocations to take a snapshot")
        }
        return TraceSnapshot(
            traces: entries.map { TraceSnapshot.Trace(size: $0.size, traceback: tracebacks[Int($0.traceback)]) },
            tracebackLimit: limit)
    }

    // MARK: - The allocator's path

    /// The stripe of a large payload: one of the large stripes, by a hash of its address.
    @inline(__always)
    private func largeStripe(of address: UInt) -> Int {
        shardCount + Int(truncatingIfNeeded: (UInt64(address) &* 0x9E37_79B9_7F4A_7C15) >> 40) % shardCount
    }

    /// Records a block the allocator just handed out from shard `shard` (called only while
    /// ``isTracing``).
    @inline(__always)
    func record(_ block: UnsafeMutableRawPointer, size: Int, shard: Int) {
        let token = TraceContext.word(key: contextKey)
        let address = UInt(bitPattern: block)
        let small = size <= SizeClass.maxSmall
        let index = small ? (shard < shardCount ? shard : shard % shardCount) : largeStripe(of: address)
        let recorded = stripes.withStripe(index) { state -> Bool in
            guard state.atPeak || state.current &+ size <= state.budget else { return false }
            insert(address, size: size, small: small, token: token, into: &state)
            return true
        }
        if !recorded { recordAtCut(address, size: size, small: small, token: token, stripe: index) }
    }

    /// Forgets a block about to go back to the allocator; `shard` is the shard that owns it (called
    /// only while ``isTracing``).
    @inline(__always)
    func forget(_ block: UnsafeMutableRawPointer, size: Int, shard: Int) {
        let address = UInt(bitPattern: block)
        let small = size <= SizeClass.maxSmall
        let index = small ? (shard < shardCount ? shard : shard % shardCount) : largeStripe(of: address)
        let wantsBudgets = stripes.withStripe(index) { state -> Bool in
            guard let size = small ? state.pools.remove(address) : state.table.remove(address) else { return false }
            state.current &-= size
            guard state.atPeak else { return false }
            let now = total.pointee.wrappingSubtract(size, ordering: .relaxed).newValue
            return peak.pointee.load(ordering: .relaxed) &- now >= Self.enterBudgetHeadroom
        }
        if wantsBudgets { countBelowPeak() }
    }

    /// Inserts the trace and counts it; the caller checked the budget (or holds a cut). `token` is the
    /// thread's ``TraceContext`` word.
    @inline(__always)
    private func insert(
        _ address: UInt, size: Int, small: Bool, token: UInt, into state: inout TraceStripes.State
    ) {
        guard state.active else { return }
        let traceback = TraceContext.traceback(of: token, epoch: state.epoch) ?? 0
        let replaced =
            small
            ? state.pools.insert(address, size: size, traceback: traceback)
            : state.table.insert(address, size: size, traceback: traceback)
        let grown = size &- (replaced ?? 0)
        state.current &+= grown
        state.grown &+= size
        guard state.atPeak else { return }
        let now = total.pointee.wrappingAdd(grown, ordering: .relaxed).newValue
        var highest = peak.pointee.load(ordering: .relaxed)
        while now > highest {
            let (exchanged, original) = peak.pointee.compareExchange(
                expected: highest, desired: now, ordering: .relaxed)
            if exchanged { break }
            highest = original
        }
    }

    /// An allocation that would pass its stripe's budget, done at a cut where the total is exact.
    private func recordAtCut(_ address: UInt, size: Int, small: Bool, token: UInt, stripe index: Int) {
        stripes.withAll { cut in
            insert(address, size: size, small: small, token: token, into: &cut[index])
            // Another cut may have switched to counting at the peak meanwhile: then it is counted.
            guard !cut[index].atPeak else { return }
            let now = cut.current
            let highest = peak.pointee.load(ordering: .relaxed)
            if now > highest {
                countAtPeak(cut, total: now, newPeak: now)
            } else if highest - now < Self.leaveBudgetHeadroom {
                countAtPeak(cut, total: now, newPeak: highest)
            } else {
                shareHeadroom(cut, highest - now)
            }
        }
    }

    /// At the peak, after a free left enough headroom: switches to budgets (if still worth it).
    private func countBelowPeak() {
        stripes.withAll { cut in
            guard cut[0].atPeak else { return }
            let headroom = peak.pointee.load(ordering: .relaxed) - cut.current
            if headroom >= Self.enterBudgetHeadroom { shareHeadroom(cut, headroom) }
        }
    }

    /// At a cut: counts every block in G from now on, starting from `total`, with the peak `newPeak`.
    private func countAtPeak(_ cut: TraceStripes.Cut, total now: Int, newPeak: Int) {
        setTotals(current: now, peak: newPeak)
        for index in cut.indices {
            cut[index].atPeak = true
            cut[index].budget = 0
            cut[index].grown = 0
        }
    }

    /// At a cut, below the peak: gives each stripe a budget of its current bytes plus a share of
    /// `headroom`, in proportion to what it allocated since the last cut (evenly when none did).
    /// The shares add up to at most `headroom`, so the budgets add up to at most the peak.
    private func shareHeadroom(_ cut: TraceStripes.Cut, _ headroom: Int) {
        let grown = cut.indices.reduce(0) { $0 + cut[$1].grown }
        var left = headroom
        for index in cut.indices {
            let weight = grown > 0 ? Double(cut[index].grown) / Double(grown) : 1 / Double(cut.indices.count)
            let share = min(left, max(0, Int(Double(headroom) * weight)))
            left -= share
            cut[index].budget = cut[index].current + share
            cut[index].atPeak = false
            cut[index].grown = 0
        }
    }

    /// Sets G and P (at a cut, or under `control` with every stripe locked).
    private func setTotals(current: Int, peak newPeak: Int) {
        total.pointee.store(current, ordering: .relaxed)
        peak.pointee.store(newPeak, ordering: .relaxed)
    }
}
