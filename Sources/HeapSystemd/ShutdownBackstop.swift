import Foundation

/// A deadline for a graceful shutdown: unless ``cancel()`` is called within `seconds`, runs `action`
/// (which ends the process) on a thread of its own.
///
/// heapd's stop waits for every event loop to close its clients. Running commands stop at their next
/// safepoint, but some work has none (freeing a container of millions of objects, one collection of a
/// huge heap), and SIGTERM must end heapd in 2 s whatever runs: this is what guarantees it.
final class ShutdownBackstop: @unchecked Sendable {
    private let condition = NSCondition()
    private var cancelled = false

    init(seconds: Double, action: @escaping @Sendable () -> Void) {
        let deadline = Date().addingTimeInterval(seconds)
        let thread = Thread { [self] in
            condition.lock()
            while !cancelled && condition.wait(until: deadline) {}
            let fire = !cancelled
            condition.unlock()
            if fire { action() }
        }
        thread.name = "heapd-shutdown"
        thread.start()
    }

    /// The shutdown finished in time.
    func cancel() {
        condition.lock()
        cancelled = true
        condition.signal()
        condition.unlock()
    }
}
