import Foundation
import HeapCore
import NIOCore

/// What a watchdog needs to ask the running server: are its event loops answering, and is its
/// collector making progress. Kept here so health checks see the server only through this surface.
extension HeapServer {
    /// The collector whose thread a watchdog checks (``CycleCollector/isHealthy(bound:)``).
    public var collector: CycleCollector { heap.collector }

    /// Clients connected now.
    public var connectedClients: Int { state.connectedClients.load(ordering: .relaxed) }

    /// The event loops serving clients.
    public var eventLoopCount: Int { Array(group.makeIterator()).count }

    /// Schedules a no-op on every event loop and waits up to `bound` seconds for all of them to run
    /// it. Returns how many event loops did not answer in time (0 when every loop is serving).
    ///
    /// A loop that is stuck (a handler blocked on the heap's gate behind a stalled collection, a
    /// command that never returns) cannot run the no-op, so this proves the loops still make progress.
    public func unresponsiveEventLoops(within bound: Double) -> Int {
        let loops = Array(group.makeIterator())
        let answers = ProbeAnswers()
        for loop in loops {
            loop.execute { answers.add() }
        }
        return loops.count - answers.wait(for: loops.count, until: Date().addingTimeInterval(bound))
    }

    /// Calls `observer` (on the collector's thread) after every collection; keep it short.
    public func onCollectionFinished(_ observer: @escaping @Sendable (CollectionInfo) -> Void) {
        state.addCollectionObserver(observer)
    }
}

/// The no-ops that ran, counted under a pthread-based condition (visible to the thread sanitizer).
private final class ProbeAnswers: @unchecked Sendable {
    private let condition = NSCondition()
    private var count = 0

    func add() {
        condition.lock()
        count += 1
        condition.signal()
        condition.unlock()
    }

    /// Waits until `expected` answers arrived or `deadline` passed; returns the answers counted.
    func wait(for expected: Int, until deadline: Date) -> Int {
        condition.lock()
        defer { condition.unlock() }
        while count < expected && condition.wait(until: deadline) {}
        return count
    }
}
