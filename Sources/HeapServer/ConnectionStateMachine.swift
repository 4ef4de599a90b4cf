/// Where a connection is in its life, as a value with no I/O: ``ConnectionHandler`` reports each event
/// and performs the action returned (the shape of NIO's state machines and of our `ReporterSchedule`).
///
/// States:
///
///                 ┌──────────── reply sent (replyCompleted) ────────────┐
///                 ▼                                                      │
///     reading ──(startBatch)──▶ batching ──(command replies later)──▶ waitingForReply
///        ▲                        │    │
///        └─────(endBatch)─────────┘    └──(long command)──▶ stepping ──(last step)──▶ reading
///
///     any state ──(QUIT, framing error, limit, hang-up, half-close once idle)──▶ closing (final)
///
/// - `reading`: requests are decoded and executed as they arrive.
/// - `batching`: up to ``ConnectionHandler/requestsPerGateHold`` requests run inside one hold of the
///   heap's gate (docs/006-connection-and-gate.md says why 64).
/// - `waitingForReply`: a command's reply comes later (``CommandOutcome/afterGate(_:)``: a stop of the
///   world, the collector thread, a file; or ``CommandOutcome/later(_:)``: `GC WAIT`). Nothing more of
///   this client runs until it is sent, so its replies stay in order; the loop serves its other clients.
/// - `stepping`: a long command runs a step per turn of the loop (``SteppedCommand``); the same holds.
/// - `closing`: a reply that closes was queued, or the client is cut off; nothing more runs or is sent
///   but what is queued.
///
/// Two facts stay beside the state: the client shut its sending side (`inputClosed`: close once all it
/// sent is answered) and the session is subscribed (pushed collector events are written only then).
/// Backpressure (pausing on unsent output) is ``ConnectionFlow``'s, a separate value.
struct ConnectionStateMachine: Equatable {
    enum State: Equatable {
        case reading
        case batching
        case waitingForReply
        case stepping
        case closing
    }

    private(set) var state = State.reading
    /// The client shut down its sending side: close once everything received is answered.
    private(set) var inputClosed = false
    /// The session is in `GC SUBSCRIBE` mode.
    private(set) var subscribed = false

    /// Whether requests may be executed now.
    var mayExecute: Bool { state == .reading }

    /// Bytes arrived: whether to keep them (false once closing: they are dropped).
    func bytesReceived() -> Bool { state != .closing }

    // MARK: Batches

    /// Before entering the gate for a batch: true when a batch may run (the state is `reading`).
    mutating func startBatch() -> Bool {
        guard state == .reading else { return false }
        state = .batching
        return true
    }

    /// What the handler does after a command of the batch returned.
    enum CommandAction: Equatable {
        /// Send its reply and run the next request of the batch.
        case sendAndContinue
        /// Send its reply, drop the requests after it, close once the output is sent.
        case sendAndClose
        /// End the batch, leave the gate, then wait for the reply (the work after the gate, or the future).
        case endBatchAndWait
        /// End the batch, leave the gate, then run the long command's first step.
        case endBatchAndStep
    }

    /// A command of the batch returned `outcome`; `subscribed` is whether its session is subscribed now.
    mutating func commandReturned(_ outcome: CommandOutcome.Kind, subscribed: Bool) -> CommandAction {
        precondition(state == .batching, "a command ran outside a batch (state \(state))")
        self.subscribed = subscribed
        switch outcome {
        case .reply: return .sendAndContinue
        case .replyAndClose:
            state = .closing
            return .sendAndClose
        case .replyLater:
            state = .waitingForReply
            return .endBatchAndWait
        case .stepped:
            state = .stepping
            return .endBatchAndStep
        }
    }

    /// The batch left the gate.
    mutating func endBatch() {
        if state == .batching { state = .reading }
    }

    // MARK: Replies that come later

    /// What to do when a reply that came later (a future, a long command's last step) is ready.
    enum CompletionAction: Equatable {
        /// Send it and execute what arrived meanwhile.
        case sendAndExecute
        /// Drop it: the connection is closing.
        case drop
    }

    /// The awaited reply or the long command's reply is ready.
    mutating func replyCompleted() -> CompletionAction {
        switch state {
        case .waitingForReply, .stepping:
            state = .reading
            return .sendAndExecute
        case .closing: return .drop
        case .reading, .batching:
            preconditionFailure("a reply completed with none awaited (state \(state))")
        }
    }

    // MARK: Closing

    /// What to do when the connection may have to close.
    enum CloseAction: Equatable {
        case none
        /// Send what is queued, then close.
        case closeAfterOutput
    }

    /// A framing error was reported; `closesConnection` when the stream is out of sync.
    mutating func protocolFailure(closesConnection: Bool) -> CloseAction {
        guard closesConnection, state != .closing else { return .none }
        state = .closing
        return .closeAfterOutput
    }

    /// The client shut its sending side; `idle` when nothing it sent is left to run.
    mutating func inputClosed(idle: Bool) -> CloseAction {
        inputClosed = true
        return drained(idle: idle)
    }

    /// The handler ran what it could; `idle` when nothing received is left to run. After a half-close,
    /// the connection closes once the last reply is queued.
    mutating func drained(idle: Bool) -> CloseAction {
        guard inputClosed, idle, state == .reading else { return .none }
        state = .closing
        return .closeAfterOutput
    }

    /// The connection is cut off or closed (a limit, an eviction, the client gone): true when this is
    /// news, false when it was closing already.
    mutating func close() -> Bool {
        guard state != .closing else { return false }
        state = .closing
        return true
    }

    // MARK: Pushed events

    /// A collector event arrived for this connection: true to write it (subscribed and not closing).
    func pushArrived() -> Bool { subscribed && state != .closing }
}
