import Dispatch
import HeapCore
import Synchronization

/// The retained sizes of a view (`TYPES RETAINED`, `CHAIN x RETAINED`) as steps of its
/// ``SteppedCommand``: first the graph is read with the world stopped, a step of about a millisecond
/// at a time (``HeapGraphCapture``); then the dominator tree is computed on another thread with the
/// world going (``CapturedHeapGraph/retainedSizes()`` reads no heap memory), and each step waits for
/// it at most a slice, so the event loop's other clients still wait no longer than for any other step.
///
/// Why another thread: the tree of a million objects takes a few hundred milliseconds in one piece
/// (``DominatorTree`` is not written in steps); on the event loop it would stall the loop's clients
/// for all of it.
final class RetainedSizeSteps {
    private var capture: HeapGraphCapture? = HeapGraphCapture()
    private var computing: BackgroundResult<RetainedSizes>?

    /// One step: nil while the view goes on, the sizes once they are computed. `roots` gives the
    /// roots held outside the heap (the server's variables and globals).
    func step(
        _ session: Session, _ command: SteppedCommand, roots: (borrowing StoppedHeap) -> [HeapRoot]
    ) -> RetainedSizes? {
        if let computing { return computing.wait(nanoseconds: SteppedCommand.slice) }
        guard var reading = capture else { return nil }
        capture = nil
        let done = session.stoppedStep(command) { stopped, budget in
            reading.advance(in: stopped, external: { roots(stopped) }, budget: &budget)
        }
        guard done else {
            capture = reading
            return nil
        }
        let graph = reading.graph
        computing = BackgroundResult { graph.retainedSizes() }
        return nil
    }
}

/// A value computed on a global dispatch queue, waited for in bounded slices.
final class BackgroundResult<Value: Sendable>: Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let value = Mutex<Value?>(nil)

    init(_ work: @escaping @Sendable () -> Value) {
        DispatchQueue.global().async { [self] in
            let result = work()
            value.withLock { $0 = result }
            done.signal()
        }
    }

    /// The value if it is ready within `nanoseconds`, else nil.
    func wait(nanoseconds: UInt64) -> Value? {
        guard done.wait(timeout: .now() + .nanoseconds(Int(nanoseconds))) == .success else { return nil }
        // Signalled once: put it back, so that a later wait (none is expected) returns at once too.
        done.signal()
        return value.withLock { $0 }
    }
}
