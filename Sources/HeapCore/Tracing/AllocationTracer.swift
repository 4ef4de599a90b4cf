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
// ever reached, which a sum of per-stripe peaks would overstate. The tracer runs in one of three modes
// (``TraceStripes/Mode``), changed only at a *cut* (every stripe's lock held, taken in index order):
//
// - **At the peak.** Each traced allocation and free also adds its size to one atomic total G
//   (inside its stripe's lock), and the peak is the maximum of G. G's modification order is an order
//   of all the operations consistent with each stripe's, so that maximum is exact. Every value G
//   takes is returned to the one operation that made it, so each stripe keeps the highest its
//   allocations were returned (`localPeak`, no shared write) and a cut folds them into P: one shared
//   atomic per block where updating P too took two. It is the mode while two stripes grow at once
//   (every allocation a new peak); one stripe growing alone takes a lease instead (below).
// - **Below the peak.** Each stripe j has a budget b_j ≥ current_j, and one atomic pool H holds the
//   headroom no stripe has taken, with Σ b_j + H ≤ P. An allocation that keeps its stripe within
//   budget cannot make the total pass P (Σ current_j ≤ Σ b_j ≤ P), so it touches nothing shared. One
//   that would pass it first takes what it needs from H (and up to `slackChunk` more for the
//   allocations to come), one atomic per few KiB; a free that leaves its stripe more than twice that
//   slack gives the excess back to H. H is taken from before a budget grows and given to after one
//   shrinks, so Σ b_j + H never rises. Only when H has too little is the allocation done at a cut,
//   where the total is exact: a new peak switches to "at the peak", otherwise the headroom P − total
//   is shared out again (a slack chunk to each stripe, in proportion to what it allocated since the
//   last cut, the rest to H).
//
//   Why the pool: with budgets alone, a stripe that freed kept its headroom until the next cut, so
//   two threads taking turns to grow needed a cut (every lock) every thousand blocks, and near the
//   peak switched to counting at the peak, where both hit G: 2 threads traced ints cost 65 ns
//   per object against 40 off.
//
// - **Leased.** One thread growing alone, every allocation a new peak, paid two shared atomics per
//   block at the peak (5.7× an untraced allocation). A cut that would switch to counting at the peak
//   gives a *lease* instead to the stripe that asked for it: that stripe alone may grow, and counts
//   its peak itself, with no atomic write; G holds the other stripes' total, which only their frees
//   change (they subtract from G, one relaxed read for the owner). Its allocation's total is its own
//   bytes plus G as it reads it: G's modification order orders the others' frees, so that total is
//   one of a consistent order, and its running maximum (`localPeak`) is exact. Any other stripe's
//   allocation needs a cut, which folds the local peak into P and, two stripes now growing, switches
//   to counting at the peak. Tracing starts, and `reset_peak` and `clear_traces` leave it, with an
//   open lease: no owner yet, G the total, and the first allocation's cut takes it.
//
// Invariant, outside cuts: below the peak, current_j ≤ b_j in every stripe and Σ b_j + H ≤ P; at the
// peak, G = Σ current_j and H = 0; leased to o, G = Σ_{j≠o} current_j, H = 0, and the peak is
// max(P, localPeak_o), which every cut folds into P. Each way P is the largest total of any consistent
// state so far, so `get_traced_memory()`'s peak is exact, with any number of threads.
//
// The switches: a free that leaves the total `enterBudgetHeadroom` below the peak (at the peak, or
// the owner's under a lease) asks for a cut that switches to budgets; a cut below the peak that finds
// less than `leaveBudgetHeadroom` left leases to the stripe that asked, or counts at the peak when
// another stripe holds the lease. The gap between the two keeps the switches (a cut costs every lock, ~0.2 µs) at
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
    /// Below the peak, what a stripe takes from H beyond its need, and keeps after a free (it gives
    /// back what passes twice this).
    static let slackChunk = 2 << 10

    private let tracing = Atomic<Bool>(false)
    /// Serializes start, stop, clear, reset_peak, snapshots: what changes or reads the whole run.
    private let control = LockedValue(false)
    private let interned = LockedValue(Interned())
    private let stripes: TraceStripes
    private let shardCount: Int
    /// ``TraceContext``'s thread-local key, read here once rather than through its lazy global.
    private let contextKey = TraceContext.key
    /// G: the bytes traced, kept only at the peak (under a lease, the other stripes' bytes). G and P
    /// share a cache line, away from `tracing`, which every allocation reads; P is written only at
    /// cuts now (when P was also updated per block, a line each cost two growing threads 200 ns per
    /// block, one line 50). H, written below the peak, has a cache-line pair of its own.
    private let total: UnsafeMutablePointer<Atomic<Int>>
    /// P: the peak.
    private let peak: UnsafeMutablePointer<Atomic<Int>>
    /// H: below the peak, the headroom no stripe holds as budget (0 at the peak).
    private let headroom: UnsafeMutablePointer<Atomic<Int>>
    private static let counterSpacing = 16  // words: 128 bytes between G (and P) and H

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
        let spacing = Self.counterSpacing
        total = UnsafeMutableRawPointer.allocate(byteCount: 2 * spacing * 8, alignment: 128)
            .bindMemory(to: Atomic<Int>.self, capacity: 2 * spacing)
        total.initialize(to: Atomic<Int>(0))
        peak = total + 1
        peak.initialize(to: Atomic<Int>(0))
        headroom = total + spacing
        headroom.initialize(to: Atomic<Int>(0))
    }

    deinit {
        total.deinitialize(count: 1)
        peak.deinitialize(count: 1)
        headroom.deinitialize(count: 1)
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
        // Not tracing, both are zero (stop() cleared them): no cut, which would take every allocator
        // shard's lock on each INFO and metrics scrape.
        guard isTracing else { return (0, 0) }
        return stripes.withAll { cut in
            foldPeaks(cut)
            return (cut.current, peak.pointee.load(ordering: .relaxed))
        }
    }

    /// `tracemalloc.reset_peak()`: the peak becomes the current total.
    public func resetPeak() {
        control.withLock { _ in
            stripes.withAll { cut in openLease(cut, total: cut.current, newPeak: cut.current) }
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
                openLease(cut, total: 0, newPeak: 0)
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

    /// The lock of small-block stripe `shard`, which allocator shard `shard` takes as its own (see
    /// ``TraceStripes``): a small block's trace is then kept inside the shard's critical section.
    func shardLock(_ shard: Int) -> SpinLock {
        SpinLock(stripes.lockWord(shard))
    }

    /// Records a small block that allocator shard `shard` is handing out, called by the shard with its
    /// lock held, only while ``isTracing``. Returns false when the block would pass the stripe's
    /// budget: the shard then calls ``recordSmallAtCut(_:size:shard:)`` once it has unlocked.
    @inline(__always)
    func recordSmall(locked block: UnsafeMutableRawPointer, size: Int, shard: Int) -> Bool {
        let state = stripes.lockedState(shard)
        guard fits(size, in: &state.pointee) else { return false }
        insert(
            UInt(bitPattern: block), size: size, small: true, token: TraceContext.word(key: contextKey),
            into: &state.pointee)
        return true
    }

    /// ``recordSmall(locked:size:shard:)`` that found no room in the budget, done at a cut (the shard's
    /// lock released: the cut takes it). The block is not yet returned to anyone, so no free races it.
    func recordSmallAtCut(_ block: UnsafeMutableRawPointer, size: Int, shard: Int) {
        recordAtCut(
            UInt(bitPattern: block), size: size, small: true, token: TraceContext.word(key: contextKey),
            stripe: shard)
    }

    /// Records a small block of shard `shard` handed out without the shard's allocate (a restore
    /// carves whole pools): takes the shard's lock itself. Called only while ``isTracing``.
    func recordSmall(_ block: UnsafeMutableRawPointer, size: Int, shard: Int) {
        let lock = shardLock(shard)
        lock.lock()
        let recorded = recordSmall(locked: block, size: size, shard: shard)
        lock.unlock()
        if !recorded { recordSmallAtCut(block, size: size, shard: shard) }
    }

    /// Forgets a small block that allocator shard `shard` is taking back, called by the shard with its
    /// lock held (before the block can be handed out again), only while ``isTracing``. Returns true
    /// when the tracer wants a cut to switch to budgets: the shard then calls ``countBelowPeak()``
    /// once it has unlocked.
    @inline(__always)
    func forgetSmall(locked block: UnsafeMutableRawPointer, shard: Int) -> Bool {
        let state = stripes.lockedState(shard)
        guard let size = state.pointee.pools.remove(UInt(bitPattern: block)) else { return false }
        return uncount(size, in: &state.pointee)
    }

    /// Records a large payload the allocator just handed out (called only while ``isTracing``).
    @inline(__always)
    func recordLarge(_ block: UnsafeMutableRawPointer, size: Int) {
        let token = TraceContext.word(key: contextKey)
        let address = UInt(bitPattern: block)
        let index = largeStripe(of: address)
        let recorded = stripes.withStripe(index) { state -> Bool in
            guard fits(size, in: &state) else { return false }
            insert(address, size: size, small: false, token: token, into: &state)
            return true
        }
        if !recorded { recordAtCut(address, size: size, small: false, token: token, stripe: index) }
    }

    /// Forgets a large payload about to go back to the system (called only while ``isTracing``).
    @inline(__always)
    func forgetLarge(_ block: UnsafeMutableRawPointer) {
        let address = UInt(bitPattern: block)
        let wantsBudgets = stripes.withStripe(largeStripe(of: address)) { state -> Bool in
            guard let size = state.table.remove(address) else { return false }
            return uncount(size, in: &state)
        }
        if wantsBudgets { countBelowPeak() }
    }

    /// Takes a forgotten trace's `size` off its stripe's count (and off G at the peak); true when that
    /// leaves enough headroom below the peak to switch to budgets.
    @inline(__always)
    private func uncount(_ size: Int, in state: inout TraceStripes.State) -> Bool {
        state.current &-= size
        switch state.mode {
        case .belowPeak:
            let slack = state.budget &- state.current
            if slack > 2 &* Self.slackChunk {
                // Given back after the budget shrank, so Σ b_j + H never rises.
                state.budget &-= slack &- Self.slackChunk
                headroom.pointee.wrappingAdd(slack &- Self.slackChunk, ordering: .relaxed)
            }
            return false
        case .atPeak:
            // P, or this stripe's own higher peak (the others' not yet folded in: the cut decides).
            let now = total.pointee.wrappingSubtract(size, ordering: .relaxed).newValue
            return max(peak.pointee.load(ordering: .relaxed), state.localPeak) &- now >= Self.enterBudgetHeadroom
        case .leaseOwner:
            let now = state.current &+ total.pointee.load(ordering: .relaxed)
            return state.localPeak &- now >= Self.enterBudgetHeadroom
        case .leasedOut:
            total.pointee.wrappingSubtract(size, ordering: .relaxed)
            return false
        }
    }

    /// Whether `size` more bytes may be recorded in `state` without a cut: always at the peak and for
    /// the lease's owner, never for the other stripes of a lease; below the peak, when they fit the
    /// stripe's budget or the budget can grow enough from H.
    @inline(__always)
    private func fits(_ size: Int, in state: inout TraceStripes.State) -> Bool {
        switch state.mode {
        case .atPeak, .leaseOwner: return true
        case .leasedOut: return false
        case .belowPeak:
            if state.current &+ size <= state.budget { return true }
            return takeHeadroom(state.current &+ size &- state.budget, into: &state)
        }
    }

    /// Below the peak, with the stripe's lock held: moves `need` bytes of headroom (and up to a slack
    /// chunk more) from H to the stripe's budget; false when H holds less than `need`.
    private func takeHeadroom(_ need: Int, into state: inout TraceStripes.State) -> Bool {
        var available = headroom.pointee.load(ordering: .relaxed)
        while available >= need {
            let take = need &+ min(available &- need, Self.slackChunk)
            let (exchanged, original) = headroom.pointee.compareExchange(
                expected: available, desired: available &- take, ordering: .relaxed)
            if exchanged {
                // Taken from H before the budget grows, so Σ b_j + H never rises.
                state.budget &+= take
                return true
            }
            available = original
        }
        return false
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
        switch state.mode {
        case .atPeak:
            let now = total.pointee.wrappingAdd(grown, ordering: .relaxed).newValue
            if now > state.localPeak { state.localPeak = now }
        case .leaseOwner:
            let now = state.current &+ total.pointee.load(ordering: .relaxed)
            if now > state.localPeak { state.localPeak = now }
        case .belowPeak, .leasedOut:
            break
        }
    }

    /// An allocation that would pass its stripe's budget, done at a cut where the total is exact.
    private func recordAtCut(_ address: UInt, size: Int, small: Bool, token: UInt, stripe index: Int) {
        stripes.withAll { cut in
            foldPeaks(cut)
            let mode = cut[index].mode
            insert(address, size: size, small: small, token: token, into: &cut[index])
            // Another cut may have switched to counting at the peak, or leased to this stripe,
            // meanwhile: then it is counted.
            if mode == .atPeak || mode == .leaseOwner { return }
            let now = cut.current
            let highest = peak.pointee.load(ordering: .relaxed)
            guard now > highest || highest - now < Self.leaveBudgetHeadroom else {
                shareHeadroom(cut, highest - now)
                return
            }
            if mode == .leasedOut && cut.indices.contains(where: { cut[$0].mode == .leaseOwner }) {
                // A second stripe grows at the peak: no one may count it alone.
                countAtPeak(cut, total: now, newPeak: max(now, highest))
            } else {
                lease(cut, to: index, total: now, newPeak: max(now, highest))
            }
        }
    }

    /// At the peak, after a free left enough headroom: switches to budgets (if still worth it). Takes
    /// every stripe's lock: never called with a shard's lock held.
    func countBelowPeak() {
        stripes.withAll { cut in
            foldPeaks(cut)
            guard cut[0].mode != .belowPeak else { return }
            let headroom = peak.pointee.load(ordering: .relaxed) - cut.current
            if headroom >= Self.enterBudgetHeadroom { shareHeadroom(cut, headroom) }
        }
    }

    /// At a cut: counts every block in G from now on, starting from `total`, with the peak `newPeak`.
    private func countAtPeak(_ cut: TraceStripes.Cut, total now: Int, newPeak: Int) {
        switchModes(cut, g: now, peak: newPeak) { _ in .atPeak }
    }

    /// At a cut: gives the lease to stripe `owner`, with the total `now` and the peak `newPeak`
    /// (at least `now`).
    private func lease(_ cut: TraceStripes.Cut, to owner: Int, total now: Int, newPeak: Int) {
        switchModes(cut, g: now - cut[owner].current, peak: newPeak) { $0 == owner ? .leaseOwner : .leasedOut }
        cut[owner].localPeak = newPeak
    }

    /// At a cut: an open lease (every stripe ``TraceStripes/Mode/leasedOut``, no owner, G the total),
    /// which the first stripe to allocate takes; the state after a start, `reset_peak` and
    /// `clear_traces`, where a thread growing alone would otherwise count at the peak for good.
    private func openLease(_ cut: TraceStripes.Cut, total now: Int, newPeak: Int) {
        switchModes(cut, g: now, peak: newPeak) { _ in .leasedOut }
    }

    /// At a cut, the switch every mode but budgets shares: G and P set (H emptied), each stripe given
    /// `mode(index)` with no budget, no growth and no peak of its own yet.
    private func switchModes(
        _ cut: TraceStripes.Cut, g: Int, peak newPeak: Int, _ mode: (Int) -> TraceStripes.Mode
    ) {
        setTotals(current: g, peak: newPeak)
        for index in cut.indices {
            cut[index].mode = mode(index)
            cut[index].budget = 0
            cut[index].grown = 0
            cut[index].localPeak = 0
        }
    }

    /// At a cut: takes the stripes' own peaks (at the peak, or the lease owner's) into P; the mode
    /// goes on.
    private func foldPeaks(_ cut: TraceStripes.Cut) {
        for index in cut.indices where cut[index].mode == .leaseOwner || cut[index].mode == .atPeak {
            if cut[index].localPeak > peak.pointee.load(ordering: .relaxed) {
                peak.pointee.store(cut[index].localPeak, ordering: .relaxed)
            }
        }
    }

    /// At a cut, below the peak: gives each stripe a budget of its current bytes plus a share of
    /// `free` bytes of headroom, in proportion to what it allocated since the last cut (evenly when
    /// none did) and at most a slack chunk, and puts the rest in H. The shares and H add up to at
    /// most `free`, so the budgets and H add up to at most the peak.
    private func shareHeadroom(_ cut: TraceStripes.Cut, _ free: Int) {
        let grown = cut.indices.reduce(0) { $0 + cut[$1].grown }
        var left = free
        for index in cut.indices {
            let weight = grown > 0 ? Double(cut[index].grown) / Double(grown) : 1 / Double(cut.indices.count)
            let share = min(left, Self.slackChunk, max(0, Int(Double(free) * weight)))
            left -= share
            cut[index].budget = cut[index].current + share
            cut[index].mode = .belowPeak
            cut[index].grown = 0
            cut[index].localPeak = 0
        }
        headroom.pointee.store(left, ordering: .relaxed)
    }

    /// Sets G and P (at a cut, or under `control` with every stripe locked).
    private func setTotals(current: Int, peak newPeak: Int) {
        total.pointee.store(current, ordering: .relaxed)
        peak.pointee.store(newPeak, ordering: .relaxed)
        headroom.pointee.store(0, ordering: .relaxed)
    }
}
