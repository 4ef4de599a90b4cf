import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The `gc` module: the collector's settings, statistics and garbage, and the thread that collects.
///
/// Collections run with the heap's gate held exclusively, on the collector's own thread — woken when an
/// allocation pushes the generation-0 count over threshold 0, and by ``collect(generation:)``, which
/// waits for the result — or, when ``mutatorsCollectYoung`` is on (the server turns it on), young
/// collections run on the mutator thread whose allocations made them due, right after it leaves the
/// gate (``collectIfDue()``), as CPython collects in the allocating thread. Full collections stay on
/// the collector thread (their marking runs in steps). One collection runs at a time. Every
/// collection's pause — from asking for the gate until releasing it, the time mutators could not run —
/// is recorded per generation.
///
/// The thread beats a heartbeat at least every ``heartbeatInterval`` and records since when it has
/// been busy, so a watchdog can tell a stalled collector from an idle one.
public final class CycleCollector: @unchecked Sendable {
    /// Set once by ``attach(_:)`` from the heap's initializer, before any other use; the heap owns the
    /// collector, so the reference is unowned.
    private unowned(unsafe) var owner: Heap?
    var heap: Heap { owner! }

    /// Threshold 0 when automatic collection is on, else `Int.max`: the one value the allocation path reads.
    private let automaticThreshold = Atomic<Int>(700)
    private let wakeRequested = Atomic<Bool>(false)
    /// Whether mutators collect the young generations themselves (``collectIfDue()``) instead of
    /// waking the collector thread for them.
    ///
    /// Why: woken for a generation-0 collection, the collector thread is a third runnable thread on a
    /// machine whose cores the mutators fill; it preempts one of them, often inside the gate, and the
    /// stop then waits for that mutator to be scheduled again (measured with two mutators on two
    /// cores: the stop's wait p50 10 µs, max 3.9 ms). And the objects a young collection reads were made
    /// by the mutators, so the allocating thread finds its own in its cache.
    public let mutatorsCollectYoung = Atomic<Bool>(false)
    /// Set by the allocation path when generation 0's count passed its threshold while mutators collect
    /// (``mutatorsCollectYoung``); cleared by whoever takes the collection.
    private let youngDue = Atomic<Bool>(false)
    /// Held for the whole of a collection, a full one's steps included, so that two never overlap: the
    /// collector thread waits for it, a mutator only tries it.
    private let collecting = LockedValue(())
    private let lastBeat = Atomic<UInt64>(0)
    private let busySince = Atomic<UInt64>(0)
    private let completedCollections = Atomic<Int>(0)
    /// Threads that free a collection's garbage (1 or 2): the second one runs while the mutators are
    /// parked at the gate, on the core one of them would use. Two wherever there are two cores: the
    /// 1M rings' full collection took 11.3–12.0 ms with one and 10.7–11.3 ms with two (medians,
    /// `HeapBench gc-shape rings2 1000000 7 1|2`), and the free alone halves when the second thread
    /// gets its core (`Benchmarks/run.sh gc` reports both).
    public let freeingThreads = Atomic<Int>(ProcessInfo.processInfo.activeProcessorCount >= 2 ? 2 : 1)
    /// Whether full collections first mark what the roots reach (``setRoots(_:)``); on by default, off
    /// only to measure or to compare against plain trial deletion.
    public let marksAlive = Atomic<Bool>(true)
    /// Whether automatic full collections mark alive in steps (``AliveMarking``): each step stops the
    /// world for about ``markStepNanoseconds``, and the collection proper runs in a last stop on what
    /// stayed unmarked. On by default; `gc.collect()` always marks in its one stop (exact).
    public let marksInSteps = Atomic<Bool>(true)
    /// The mark-alive work per stop when marking in steps, in nanoseconds (the mutators then run at
    /// least as long before the next step).
    public let markStepNanoseconds = Atomic<Int>(1_000_000)
    /// Set from the first step of a marking in steps to the end of its collection's last stop (both
    /// written with the world stopped): alive marks may then exist between stops.
    private let markingInSteps = Atomic<Bool>(false)
    var isMarkingInSteps: Bool { markingInSteps.load(ordering: .relaxed) }
    private let markSteps = Atomic<Int>(0)
    /// Stops made by markings in steps since start (INFO's `gc_mark_steps`).
    public var markStepCount: Int { markSteps.load(ordering: .relaxed) }
    /// Collections whose stop of the world has begun; written only with the world stopped, so a
    /// mutator inside the gate reads a value that cannot change under it (``collectionsStarted``).
    private let startedCollections = Atomic<Int>(0)

    /// The `gc` module's state.
    struct State {
        var enabled = true
        var thresholds = [700, 10, 10]
        var debug = 0
        var statistics = [GenerationStatistics](repeating: GenerationStatistics(), count: 3)
        var garbage: [ObjectRef] = []
        var longLived: (pending: Int, total: Int) = (0, 0)
        var requests: [Request] = []
        var stop = false
        var running = false
        /// Test-only: seconds the next collection sleeps with the world stopped (see `stall(seconds:)`).
        var stallSeconds = 0.0
        var lastCollection: CollectionInfo?
        /// `GC WAIT`s: each is told once `target` collections completed (or nil when the thread stops).
        var waiters: [CollectionWaiter] = []
        var nextWaiterID = 0
        /// What holds the heap's roots (``setRoots(_:)``); nil: full collections find everything by
        /// trial deletion, as CPython 3.11.
        var roots: (@Sendable () -> [ObjectRef])?
    }

    struct CollectionWaiter {
        let id: Int
        let target: Int
        let notify: @Sendable (Int?) -> Void
    }

    final class Request: @unchecked Sendable {
        let generation: Int
        let inSteps: Bool
        var result = 0
        let done = DispatchSemaphore(value: 0)
        init(generation: Int, inSteps: Bool) {
            self.generation = generation
            self.inSteps = inSteps
        }
    }

    let state = LockedValue(State())
    /// Wakes the thread; the state it waits for lives in `state` and `wakeRequested`.
    private let wake = MonotonicCondition(0)
    private var thread: Thread?

    public static let heartbeatInterval = 0.25

    init() {
        lastBeat.store(Self.now(), ordering: .relaxed)
    }

    func attach(_ heap: Heap) {
        owner = heap
    }

    public static func now() -> UInt64 { monotonicNanoseconds() }

    // MARK: The thread

    /// Starts the collector thread (named `heapd-gc`). Without it, collections run on the caller.
    public func start() {
        let alreadyRunning = state.withLock { state -> Bool in
            defer { state.running = true }
            return state.running
        }
        guard !alreadyRunning else { return }
        let thread = Thread { [self] in run() }
        thread.name = "heapd-gc"
        self.thread = thread
        thread.start()
    }

    /// Stops the thread after the collection in progress, if any, and waits for it.
    public func stop() {
        let running = state.withLock { state -> Bool in
            state.stop = true
            return state.running
        }
        defer {
            // No collection will complete any more: whoever waits for one is told so.
            let waiters = state.withLock { state -> [CollectionWaiter] in
                defer { state.waiters.removeAll() }
                return state.waiters
            }
            for waiter in waiters { waiter.notify(nil) }
        }
        guard running else { return }
        wake.withLockAndBroadcast { $0 &+= 1 }
        while state.withLock({ $0.running }) { usleep(1_000) }
        // The thread's closure holds the collector: dropping the finished thread ends that cycle, so
        // the collector (and the address sanitizer's leak check) does not outlive the heap.
        thread = nil
    }

    private func run() {
        while true {
            var requests: [Request] = []
            var automatic = false
            var stop = false
            wake.wait(
                until: Self.now() + UInt64(Self.heartbeatInterval * 1e9),
                for: { _ in
                    let pending = state.withLock { state -> Bool in
                        state.stop || !state.requests.isEmpty
                    }
                    return pending || wakeRequested.load(ordering: .acquiring)
                }, then: { _ in })
            beat()
            state.withLock { state in
                requests = state.requests
                state.requests.removeAll()
                stop = state.stop
            }
            if stop {
                for request in requests { request.done.signal() }
                break
            }
            automatic = wakeRequested.exchange(false, ordering: .acquiringAndReleasing)
            // A young collection due that no mutator took (none has allocated since): at the heartbeat.
            if youngDue.exchange(false, ordering: .acquiringAndReleasing) { automatic = true }
            for request in requests {
                collecting.withLock { _ in
                    request.result = runCollection(
                        generation: request.generation, inSteps: request.inSteps, unmapsAfterwards: true)
                    request.done.signal()
                    // The caller has its answer: the arenas the collection emptied go back to the OS
                    // after it, not before (a munmap of a touched megabyte costs tens of µs; a 1M-object
                    // collection empties about a hundred: a sixth of its time).
                    heap.allocator.unmapIdleArenas()
                }
            }
            if automatic { collecting.withLock { _ in runAutomatic() } }
            // Arenas emptied a heartbeat ago or more (by cascades, young collections) go back to the OS
            // here, where no mutator waits for the munmaps (ArenaAllocator.unmapIdleArenas).
            heap.allocator.unmapIdleArenas(idleFor: UInt64(Self.heartbeatInterval * 1e9))
            beat()
        }
        state.withLock { $0.running = false }
    }

    private func beat() {
        lastBeat.store(Self.now(), ordering: .releasing)
    }

    // MARK: Health

    /// Nanoseconds since the collector thread last showed life, and since when (monotonic ns) it has
    /// been inside a collection (0 when idle). A watchdog hangs on these.
    public var heartbeat: (sinceLastBeatNanoseconds: UInt64, busySinceNanoseconds: UInt64) {
        let now = Self.now()
        let last = lastBeat.load(ordering: .acquiring)
        return (now > last ? now - last : 0, busySince.load(ordering: .acquiring))
    }

    /// Whether the thread is running and beat within `bound` seconds, and no collection has lasted
    /// longer than `bound`.
    public func isHealthy(bound: Double) -> Bool {
        guard state.withLock({ $0.running && !$0.stop }) else { return false }
        let limit = UInt64(bound * 1e9)
        let (sinceBeat, busy) = heartbeat
        if busy != 0 && Self.now() - busy > limit { return false }
        return sinceBeat <= limit || busy != 0 && Self.now() - busy <= limit
    }

    /// Test-only switch: the next collection holds the world stopped for `seconds` (a stalled collector).
    public func stall(seconds: Double) {
        state.withLock { $0.stallSeconds = seconds }
    }

    /// Collections completed since start.
    public var collectionCount: Int { completedCollections.load(ordering: .relaxed) }

    /// Collections whose stop of the world has begun since start. Read inside the heap's gate, it counts
    /// exactly the collections that stopped the world before the reader's command: it changes only
    /// while the world is stopped.
    public var collectionsStarted: Int { startedCollections.load(ordering: .relaxed) }

    // MARK: Waiting for collections (GC WAIT)

    /// What ``whenCollectionsComplete(_:notify:)`` did.
    public enum WaitRegistration: Equatable, Sendable {
        /// The target is already reached: this many collections completed. `notify` will not be called.
        case reached(Int)
        /// The collector is stopping: no collection will complete. `notify` will not be called.
        case stopping
        /// Registered: `notify` will be called once, unless ``cancelWait(_:)`` is called with this id.
        case waiting(id: Int)
    }

    /// Calls `notify` with the number of completed collections once it reaches `target` (collections are
    /// numbered in the order they start, and complete in that order), or with nil if the collector
    /// stops first. `notify` runs on the thread that completed the collection (or that stops the
    /// collector): it must not block.
    public func whenCollectionsComplete(_ target: Int, notify: @escaping @Sendable (Int?) -> Void)
        -> WaitRegistration
    {
        state.withLock { state -> WaitRegistration in
            // Under the lock the completion path takes after counting: a completion is either seen here
            // or finds this waiter registered.
            let completed = completedCollections.load(ordering: .acquiring)
            guard completed < target else { return .reached(completed) }
            guard !state.stop else { return .stopping }
            state.nextWaiterID += 1
            state.waiters.append(CollectionWaiter(id: state.nextWaiterID, target: target, notify: notify))
            return .waiting(id: state.nextWaiterID)
        }
    }

    /// Forgets a waiter (its client timed out or hung up); it will not be notified.
    public func cancelWait(_ id: Int) {
        state.withLock { $0.waiters.removeAll { $0.id == id } }
    }

    /// Notifies the waiters whose target the completed collections reached.
    private func notifyWaiters() {
        let completed = completedCollections.load(ordering: .acquiring)
        let due = state.withLock { state -> [CollectionWaiter] in
            guard !state.waiters.isEmpty else { return [] }
            let due = state.waiters.filter { $0.target <= completed }
            state.waiters.removeAll { $0.target <= completed }
            return due
        }
        for waiter in due { waiter.notify(completed) }
    }

    // MARK: Triggering

    /// Called by the allocation path with the new generation-0 count: one atomic load when below the
    /// threshold; wakes the thread once when above.
    @inline(__always)
    func noteAllocationCount(_ count: Int) {
        let threshold = automaticThreshold.load(ordering: .relaxed)
        guard count > threshold else { return }
        if mutatorsCollectYoung.load(ordering: .relaxed) {
            if !youngDue.load(ordering: .relaxed) { youngDue.store(true, ordering: .releasing) }
            return
        }
        if !wakeRequested.load(ordering: .relaxed) {
            if !wakeRequested.exchange(true, ordering: .acquiringAndReleasing) {
                wake.withLockAndBroadcast { $0 &+= 1 }
            }
        }
    }

    private func refreshAutomaticThreshold() {
        let (enabled, threshold) = state.withLock { ($0.enabled, $0.thresholds[0]) }
        automaticThreshold.store(enabled && threshold > 0 ? threshold : Int.max, ordering: .relaxed)
    }

    /// `gc.collect(generation)`: collects on the collector thread and returns the number of unreachable
    /// objects found. The caller must not hold the heap's gate.
    ///
    /// `inSteps`: a full collection marks alive in steps between which the mutators run, as automatic
    /// ones do (for benchmarks and tests; the result may then miss garbage made during the marking).
    public func collect(generation: Int = 2, inSteps: Bool = false) throws(HeapError) -> Int {
        guard (0...2).contains(generation) else { throw HeapError(.value, "invalid generation") }
        let request = Request(generation: generation, inSteps: inSteps)
        let queued = state.withLock { state -> Bool in
            guard state.running && !state.stop else { return false }
            state.requests.append(request)
            return true
        }
        guard queued else {
            return collecting.withLock { _ in runCollection(generation: generation, inSteps: inSteps) }
        }
        wake.withLockAndBroadcast { $0 &+= 1 }
        request.done.wait()
        return request.result
    }

    /// Runs the young collection the calling mutator's allocations made due, if any (one relaxed load
    /// when none is): called by a mutator thread that does not hold the gate, after its commands. When
    /// a full collection is due instead, wakes the collector thread for it; when another collection
    /// runs, leaves it (the collector thread collects the young generations between the steps of a
    /// full collection's marking, and the next call looks again).
    @inline(__always)
    public func collectIfDue() {
        guard youngDue.load(ordering: .relaxed) else { return }
        collectDueInline()
    }

    /// Whether a young collection waits for a mutator to run it (``collectIfDue()``); one relaxed load.
    @inline(__always)
    public var youngCollectionDue: Bool { youngDue.load(ordering: .relaxed) }

    private func collectDueInline() {
        _ = collecting.withLockIfAvailable { _ in
            guard youngDue.exchange(false, ordering: .acquiringAndReleasing) else { return }
            let enabled = state.withLock { $0.enabled && $0.thresholds[0] > 0 }
            guard enabled else { return }
            let counts = heap.generations.lock.withLock { heap.generations.countArray }
            let (thresholds, longLived) = state.withLock { ($0.thresholds, $0.longLived) }
            if counts[2] > thresholds[2] && longLived.pending >= longLived.total / 4 {
                // A full collection: the collector thread's, marking in steps.
                wakeRequested.store(true, ordering: .releasing)
                wake.withLockAndBroadcast { $0 &+= 1 }
                return
            }
            runAutomatic(youngOnly: true)
        }
    }

    /// CPython's collect_generations: the oldest generation whose count exceeds its threshold, with
    /// the full collection further gated on the long-lived pending objects exceeding 25% of the total.
    /// `youngOnly`: between the steps of a full collection's marking, only generations 0 and 1.
    private func runAutomatic(youngOnly: Bool = false) {
        // Whatever is due is decided here, from the counts read below: the mutators' flag is taken too,
        // so that during a full collection's marking, whose steps collect the young generations, the
        // mutators stop asking (each ask schedules a task on their event loop). Cleared before the read:
        // an allocation that sets it again after the read is seen by the next ask.
        youngDue.store(false, ordering: .relaxed)
        let enabled = state.withLock { $0.enabled && $0.thresholds[0] > 0 }
        guard enabled else { return }
        let counts = heap.generations.lock.withLock { heap.generations.countArray }
        let (thresholds, longLived) = state.withLock { ($0.thresholds, $0.longLived) }
        for generation in stride(from: youngOnly ? 1 : 2, through: 0, by: -1)
        where counts[generation] > thresholds[generation] {
            if generation == 2 && longLived.pending < longLived.total / 4 { continue }
            _ = runCollection(generation: generation, inSteps: marksInSteps.load(ordering: .relaxed))
            return
        }
    }

    /// Tells full collections where the heap's roots are: `source` is called with the world stopped
    /// and returns the objects that references from outside the heap keep alive (every session's
    /// variables, the globals), repeats allowed. It must not take a lock a mutator can hold while it
    /// waits at the gate.
    ///
    /// Why: a full collection first marks everything the roots reach (CPython 3.14's mark-alive pass,
    /// gh-126491) and runs the three-pass trial deletion only on the rest, so a mostly live heap costs
    /// one walk instead of three. The roots are a shortcut, not the proof: an object they miss is still
    /// found reachable by trial deletion, so an incomplete list costs time, never an object. A root
    /// that holds no reference would be unsound; each one must be counted in its object's refcount.
    public func setRoots(_ source: (@Sendable () -> [ObjectRef])?) {
        state.withLock { $0.roots = source }
    }

    /// One collection, world stopped, with events, statistics and pause accounting. `inSteps`: a full
    /// collection marks alive in steps first (``marksInSteps``).
    ///
    /// `unmapsAfterwards`: the caller calls ``ArenaAllocator/unmapIdleArenas(idleFor:)`` itself once it
    /// has handed the result on; otherwise the collection returns the idle arenas to the OS before it
    /// returns.
    private func runCollection(generation: Int, inSteps: Bool = false, unmapsAfterwards: Bool = false) -> Int {
        let (debug, stall, rootSource) = state.withLock { state -> (Int, Double, (@Sendable () -> [ObjectRef])?) in
            defer { state.stallSeconds = 0 }
            return (state.debug, state.stallSeconds, generation == 2 ? state.roots : nil)
        }
        let marksAlive = self.marksAlive.load(ordering: .relaxed)
        var marking: AliveMarking?
        var stepPauses: [UInt64] = []
        if marksAlive, inSteps, let rootSource {
            busySince.store(Self.now(), ordering: .releasing)
            marking = markInSteps(rootSource, pauses: &stepPauses)
        }
        heap.emit(.collectionStarted(generation: generation))
        let start = Self.now()
        busySince.store(start, ordering: .releasing)
        var longLived = state.withLock { $0.longLived }
        var stoppedAt: UInt64 = 0
        // A young collection's garbage is freed after the world restarts, by this thread as a mutator
        // (free-threaded CPython's order too); a full collection's stays inside the stop (below).
        let freesAfterStop = generation < 2
        var stopEnded: UInt64 = 0
        let threads = freeingThreads.load(ordering: .relaxed)
        var (outcome, sizes) = heap.withWorldStopped { stopped -> (CollectionOutcome, [Int]) in
            stoppedAt = Self.now()
            startedCollections.add(1, ordering: .relaxed)
            if stall > 0 { usleep(UInt32(min(stall, 3600) * 1e6)) }
            // A full collection of a big heap may free with two threads inside the stop: the second
            // starts now, so that it runs by the time the free begins (HelperThread).
            let helper =
                !freesAfterStop && threads >= 2
                    && (0...2).reduce(0, { $0 + heap.generations.lengths[$1] }) >= Heap.parallelFreeMinimum
                ? HelperThread() : nil
            defer { helper?.join() }
            let sizes = heap.generations.lengthArray
            if let marking {
                stopped.clearFrozenMarks(marking)
                markingInSteps.store(false, ordering: .relaxed)
            } else if marksAlive, let rootSource {
                // gc.garbage's objects are roots too: the collector's own list holds a reference to each.
                marking = AliveMarking(roots: rootSource() + state.withLock { $0.garbage })
            }
            let outcome = stopped.collect(
                generation: generation, saveAll: debug & GCDebugFlags.saveAll != 0, debug: debug,
                longLived: &longLived, marking: marking)
            // gc.garbage takes its references before the world restarts: appended after, a DEBUG VERIFY
            // that stopped the world in between found each saved object's count one above the
            // references it could see (the TSan soak caught it, under DEBUG_SAVEALL).
            if !outcome.garbage.isEmpty { state.withLock { $0.garbage.append(contentsOf: outcome.garbage) } }
            if freesAfterStop {
                // What needs the stop: dropping references out of the garbage (its cascades report
                // finalizers in CPython's order) and making its ids stop resolving. The memory is freed
                // below, while the mutators run. A young collection's garbage is what its own
                // thread's allocations made since the last one (a mutator collects as its allocations
                // make a collection due), so the thread that frees it is the one that made it: the
                // freeing is the backpressure, without stopping the others.
                stopped.condemnGarbage(outcome.doomed, shard: 0, drops: outcome.doomedDrops)
            } else {
                // A full collection's garbage is freed inside the stop: freed concurrently, by the
                // collector thread while mutators that allocate cyclic garbage in a tight loop went on,
                // it let them outrun the collector (measured: every collection then examined
                // thousands of objects); inside, the pause itself is the backpressure, as in CPython.
                stopped.deleteGarbage(
                    outcome.doomed, shard: 0, threads: threads, drops: outcome.doomedDrops, helper: helper)
            }
            stopEnded = Self.now()
            return (outcome, sizes)
        } thenAsMutator: { result in
            if freesAfterStop {
                heap.freeGarbage(result.0.doomed, shard: 0, threads: threads)
            }
            return result
        }
        // The pause is the stop (with the wait for it): what every other mutator waited.
        let pause = stopEnded - start
        // The garbage list is young's storage when everything was garbage: kept for the next
        // collection (held only here now, so kept, not copied).
        heap.generations.keepSpareYoung(&outcome.doomed)
        if !unmapsAfterwards { heap.allocator.unmapIdleArenas() }

        busySince.store(0, ordering: .releasing)
        let info = CollectionInfo(
            generation: generation, collected: outcome.collected, uncollectable: outcome.uncollectable,
            pauseNanoseconds: pause, examined: outcome.examined, markStepPauses: stepPauses)
        state.withLock { state in
            state.longLived = longLived
            state.statistics[generation].collections += 1
            state.statistics[generation].collected += outcome.collected
            state.statistics[generation].uncollectable += outcome.uncollectable
            state.statistics[generation].pauses.record(pause)
            state.statistics[generation].stopWaits.record(stoppedAt - start)
            state.lastCollection = info
        }
        completedCollections.add(1, ordering: .releasing)
        if debug & GCDebugFlags.stats != 0 {
            heap.emit(.debug("gc: collecting generation \(generation)..."))
            heap.emit(.debug("gc: objects in each generation: \(sizes[0]) \(sizes[1]) \(sizes[2])"))
            heap.emit(.debug("gc: objects in permanent generation: \(sizes[3])"))
            heap.emit(
                .debug(
                    "gc: done, \(outcome.collected + outcome.uncollectable) unreachable, \(outcome.uncollectable) uncollectable, \(String(format: "%.4f", Double(pause) / 1e9))s elapsed"
                ))
        }
        heap.emit(.collectionFinished(info))
        notifyWaiters()
        return outcome.collected + outcome.uncollectable
    }

    /// Marks alive from the roots in steps of about ``markStepNanoseconds`` each, in stops of their own;
    /// between two steps the mutators run at least as long as the step held them, and the young
    /// generations are collected when their thresholds say so. Returns the finished marking, for the
    /// collection's last stop. Each step's stop counts as a pause of generation 2.
    private func markInSteps(_ rootSource: @Sendable () -> [ObjectRef], pauses: inout [UInt64]) -> AliveMarking {
        var marking: AliveMarking?
        while true {
            let start = Self.now()
            var stoppedAt: UInt64 = 0
            let step = UInt64(max(0, markStepNanoseconds.load(ordering: .relaxed)))
            let finished = heap.withWorldStopped { stopped -> Bool in
                stoppedAt = Self.now()
                let current =
                    marking
                    ?? AliveMarking(
                        roots: rootSource() + state.withLock { $0.garbage }, freezes: heap.generations.freezes)
                marking = current
                markingInSteps.store(true, ordering: .relaxed)
                return stopped.markAlive(current, until: Self.now() + step)
            }
            let pause = Self.now() - start
            pauses.append(pause)
            markSteps.add(1, ordering: .relaxed)
            state.withLock { state in
                state.statistics[2].pauses.record(pause)
                state.statistics[2].stopWaits.record(stoppedAt - start)
            }
            beat()
            if finished, let marking { return marking }
            betweenMarkSteps?()
            runAutomatic(youngOnly: true)
            // The mutators' turn: as long as the step held them (a young collection above counts).
            let resume = Self.now() + pause
            while true {
                let now = Self.now()  // read once: a second read could pass `resume` and underflow
                guard now < resume else { break }
                usleep(UInt32(min(1_000, max(50, (resume - now) / 1_000))))
            }
        }
    }

    /// Test-only: runs between two steps of a mark-alive pass in steps, on the collector thread, with
    /// the world running (a test mutates the heap there). Set before the collection starts.
    nonisolated(unsafe) public var betweenMarkSteps: (() -> Void)?

    // MARK: The gc module's settings

    public var isEnabled: Bool { state.withLock { $0.enabled } }

    public func setEnabled(_ enabled: Bool) {
        state.withLock { $0.enabled = enabled }
        refreshAutomaticThreshold()
    }

    public var thresholds: [Int] { state.withLock { $0.thresholds } }

    /// `gc.set_threshold(t0[, t1[, t2]])`: unspecified thresholds keep their values.
    public func setThresholds(_ values: [Int]) throws(HeapError) {
        guard (1...3).contains(values.count), values.allSatisfy({ $0 >= 0 }) else {
            throw HeapError(.value, "set_threshold takes 1 to 3 non-negative integers")
        }
        state.withLock { state in
            for (index, value) in values.enumerated() { state.thresholds[index] = value }
        }
        refreshAutomaticThreshold()
    }

    public var debugFlags: Int { state.withLock { $0.debug } }

    public func setDebugFlags(_ flags: Int) {
        state.withLock { $0.debug = flags }
    }

    /// `gc.get_count()`.
    public var counts: [Int] { heap.generations.lock.withLock { heap.generations.countArray } }

    /// `gc.get_stats()`, with pauses.
    public var statistics: [GenerationStatistics] { state.withLock { $0.statistics } }

    /// The most recent collection, if any.
    public var lastCollection: CollectionInfo? { state.withLock { $0.lastCollection } }

    // MARK: gc.garbage

    /// `gc.garbage`: the objects it holds, retained for the caller (release them).
    public func garbage() -> [ObjectRef] {
        state.withLock { state in
            for ref in state.garbage { heap.retain(ref) }
            return state.garbage
        }
    }

    /// How many objects `gc.garbage` holds.
    public var garbageCount: Int { state.withLock { $0.garbage.count } }

    /// Clients waiting in `GC WAIT` for collections to complete (`INFO`'s `blocked_clients`).
    public var waiterCount: Int { state.withLock { $0.waiters.count } }

    /// `del gc.garbage[:]`: drops the list's references (the objects may then be freed or become
    /// collectable), last to first as CPython's `list_ass_slice` drops a deleted slice, so finalizers
    /// run in its order. Call as a mutator (inside the gate, shared).
    public func clearGarbage(shard: Int) -> Int {
        let refs = state.withLock { state -> [ObjectRef] in
            defer { state.garbage.removeAll() }
            return state.garbage
        }
        for ref in refs.reversed() { heap.release(ref, shard: shard) }
        return refs.count
    }

    /// Sets `gc.garbage` to `refs` (each a reference the list owns): a restored image's list.
    func restoreGarbage(_ refs: [ObjectRef]) { state.withLock { $0.garbage = refs } }

    /// References held by gc.garbage, for the verifier.
    func garbageReferences() -> [ObjectRef] { state.withLock { $0.garbage } }

    // MARK: Freeze

    /// `gc.get_freeze_count()`.
    public var freezeCount: Int {
        heap.generations.lock.withLock { heap.generations.lengths[GenerationLists.permanent] }
    }
}

extension StoppedHeap {
    /// `gc.freeze()`: moves every tracked object to the permanent generation and zeroes the three
    /// counts, as 3.11's `gc_freeze_impl` does.
    public func freeze() {
        let gens = heap.generations
        gens.lock.withLock {
            for generation in 0..<3 {
                gens.merge(generation, into: GenerationLists.permanent)
                gens.counts[generation] = 0
            }
            gens.youngLogCount = 0
            gens.freezes += 1
        }
    }

    /// `gc.unfreeze()`: moves the permanent generation back into the oldest.
    public func unfreeze() {
        let gens = heap.generations
        gens.lock.withLock { gens.merge(GenerationLists.permanent, into: 2) }
    }
}
