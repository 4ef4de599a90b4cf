import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A second thread for the collector's parallel work (freeing a large garbage set), started before
/// the work is known and kept running, spinning, until it is handed its part, let go, or tired of
/// waiting (``standByLimit``).
///
/// Why not `DispatchQueue.concurrentPerform`, and why started early: on this 2-core virtual machine a
/// thread woken on an idle core ran 0.1 to 4 ms later (libdispatch's worker and a fresh pthread alike,
/// measured on the 1M rings), longer than the 7 ms free it was to halve. A full collection stops the
/// world, so the second core has nothing else to run meanwhile; the helper starts when the stop does
/// and is running by the time the free begins.
final class HelperThread: @unchecked Sendable {
    private static let waiting = 0
    private static let posted = 1
    private static let released = 2

    private let state = Atomic<Int>(HelperThread.waiting)
    /// Written once before `state` becomes `posted` (releasing), read after (acquiring).
    nonisolated(unsafe) private var job: (@Sendable () -> Void)?
    private var thread = pthread_t()
    private var started = false
    private var joined = false

    init() {
        let context = Unmanaged.passRetained(self).toOpaque()
        started =
            pthread_create(
                &thread, nil,
                { context in
                    Unmanaged<HelperThread>.fromOpaque(context!).takeRetainedValue().standBy()
                    return nil
                }, context) == 0
        if !started { Unmanaged<HelperThread>.fromOpaque(context).release() }
    }

    /// How long the helper spins for work before it gives up (the work then runs on the caller): a
    /// full collection whose garbage turns out small (a mostly live heap), or one a `GC DEBUG_STALL`
    /// holds, costs the other core at most this much.
    static let standByLimit: Duration = .milliseconds(30)

    /// Spins until handed work, let go, or past ``standByLimit``; yields now and then, so anything
    /// else ready on this core still runs.
    private func standBy() {
        let end = ContinuousClock.now.advanced(by: Self.standByLimit)
        var spins = 0
        while true {
            switch state.load(ordering: .acquiring) {
            case Self.posted:
                job?()
                return
            case Self.released:
                return
            default:
                spins &+= 1
                guard spins & 255 == 0 else { continue }
                if ContinuousClock.now >= end {
                    // Gives up unless work was posted meanwhile (then it runs it).
                    let (gaveUp, _) = state.compareExchange(
                        expected: Self.waiting, desired: Self.released, ordering: .acquiringAndReleasing)
                    if gaveUp { return }
                    continue
                }
                sched_yield()
            }
        }
    }

    /// Runs `body` on the helper, or here when the thread could not be made or has given up waiting;
    /// then call ``join()``.
    func run(_ body: @escaping @Sendable () -> Void) {
        guard started else {
            body()
            return
        }
        job = body
        let (posted, _) = state.compareExchange(
            expected: Self.waiting, desired: Self.posted, ordering: .acquiringAndReleasing)
        if !posted { body() }
    }

    /// Waits for the helper's work, or lets it go if it was handed none. Idempotent.
    func join() {
        guard started, !joined else { return }
        joined = true
        _ = state.compareExchange(
            expected: Self.waiting, desired: Self.released, ordering: .acquiringAndReleasing)
        pthread_join(thread, nil)
    }
}
