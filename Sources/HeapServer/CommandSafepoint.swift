import HeapCore

/// The ``Safepoint`` of one long command (`SUM`, `LIST`): what it does every ~1024 steps.
///
/// 1. Stops the command with `-CANCELLED` when heapd is shutting down, or when its client hung up
///    (looked at once a millisecond at most: one `poll()`).
/// 2. Stops it with `-LIMIT` once it has run longer than `command-time-limit`.
/// 3. Lets a pending stop of the world through: publishes what the command holds as
///    ``Session/heldByCommand`` (the verifier counts it as held outside the heap), leaves the gate,
///    waits for the stop to end, enters again.
///
/// Commands run on their client's event loop, so while one runs, the other clients of that loop
/// wait; the time limit bounds that wait, and cancellation ends it when nobody wants the result.
final class CommandSafepoint: Safepoint {
    private unowned let session: Session
    /// References the command took before the heap operation started (the object its argument names).
    private let borrowed: [ObjectRef]
    private let started = CycleCollector.now()
    private let deadline: UInt64?
    private var lastPeerCheck: UInt64

    /// How often, at most, the client's socket is polled for a hang-up.
    static let peerCheckInterval: UInt64 = 1_000_000

    init(session: Session, holding borrowed: [ObjectRef]) {
        self.session = session
        self.borrowed = borrowed
        let limit = session.state.configuration.connectionLimits.commandTimeLimitMilliseconds
        deadline = limit > 0 ? started + UInt64(limit) * 1_000_000 : nil
        lastPeerCheck = started
    }

    func reached(holding refs: [ObjectRef]) throws(HeapError) {
        let state = session.state
        if state.shuttingDown.load(ordering: .relaxed) {
            state.counters.commandsCancelled.add(1, ordering: .relaxed)
            throw HeapError(.cancelled, "heapd is shutting down; the command was stopped")
        }
        let now = CycleCollector.now()
        if let deadline, now >= deadline {
            state.counters.commandsTimedOut.add(1, ordering: .relaxed)
            let limit = state.configuration.connectionLimits.commandTimeLimitMilliseconds
            throw HeapError(
                .limit,
                "command stopped after \((now - started) / 1_000_000) ms (command-time-limit \(limit) ms); what it consumed stays consumed"
            )
        }
        if now &- lastPeerCheck >= Self.peerCheckInterval {
            lastPeerCheck = now
            if session.peer?.hungUp == true {
                state.counters.commandsCancelled.add(1, ordering: .relaxed)
                throw HeapError(.cancelled, "the client disconnected; the command was stopped")
            }
        }
        let gate = state.heap.gate
        if gate.isStopPending {
            // Published before leaving: the stopper reads it only after this thread's exit from the gate.
            session.heldByCommand = borrowed + refs
            if gate.yieldToStop() { state.counters.safepointYields.add(1, ordering: .relaxed) }
            session.heldByCommand = []
        }
    }
}

extension HeapError.Code {
    /// A command stopped before it finished because its result is not wanted any more: its client hung
    /// up, or heapd is shutting down.
    static let cancelled = HeapError.Code("CANCELLED")
}
