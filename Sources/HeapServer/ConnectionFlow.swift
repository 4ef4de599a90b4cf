/// When a connection reads, executes and is cut off: the backpressure rules of ``ConnectionLimits`` as
/// a value with no I/O, which ``ConnectionHandler`` asks before each step and obeys.
///
/// States:
///
///     open ──(unsent output past outputPause)──▶ paused ──(writable again)──▶ open
///       │                                          │
///       └──────────────(close decided)─────────────┴──▶ closing (final)
///
/// - `open`: requests are executed as they arrive and NIO's reads pass through.
/// - `paused`: the client's unsent output passed ``ConnectionLimits/outputPause``. Requests already
///   received wait unexecuted and reads are held, so a client that never reads makes heapd buffer
///   neither more input nor more output; other clients are not affected (nothing blocks).
/// - `closing`: a reply that closes was queued or a limit disconnected the client; nothing more is
///   read or executed.
///
/// A read NIO asks for while paused is remembered and released when the flow opens again, so the
/// channel never stops reading for good.
struct ConnectionFlow {
    enum State: Equatable {
        case open
        case paused
        case closing
    }

    let limits: ConnectionLimits
    private(set) var state = State.open
    /// A read was asked for while paused and not yet passed on.
    private var heldRead = false

    init(limits: ConnectionLimits) {
        self.limits = limits
    }

    /// NIO asks for the next read: true to pass it on, false to hold it (paused) or drop it (closing).
    mutating func readRequested() -> Bool {
        switch state {
        case .open: return true
        case .paused:
            heldRead = true
            return false
        case .closing: return false
        }
    }

    /// Before executing the next request, with `unsentOutput` the bytes queued for the client and not
    /// yet sent (including replies of this burst not yet handed to the channel): true to execute it;
    /// false when the flow pauses (or is closing) and the request must wait.
    mutating func mayExecute(unsentOutput: Int) -> Bool {
        switch state {
        case .closing: return false
        case .paused: return false
        case .open:
            // Strictly greater, as NIO's high watermark: at exactly outputPause the channel stays writable
            // and would never announce the change that resumes.
            if unsentOutput > limits.outputPause {
                state = .paused
                return false
            }
            return true
        }
    }

    /// What to do when the flow may open again.
    enum Resumption: Equatable {
        /// Nothing: not paused, still unwritable, or closing.
        case none
        /// Execute the waiting requests; then, if they did not pause the flow again, release a held read
        /// (``releaseHeldRead()``).
        case execute
    }

    /// The channel became writable again (the client read its output down to the low watermark), or
    /// the handler checks after queuing output whether it is still writable.
    mutating func writable(_ isWritable: Bool) -> Resumption {
        guard state == .paused, isWritable else { return .none }
        state = .open
        return .execute
    }

    /// After the waiting requests ran without pausing again: true when a held read must now be passed on.
    mutating func releaseHeldRead() -> Bool {
        guard state == .open, heldRead else { return false }
        heldRead = false
        return true
    }

    /// Whether a reply of `size` bytes on the wire may be sent (else it is replaced by `-LIMIT`).
    func replyAllowed(size: Int) -> Bool { size <= limits.maxReply }

    /// Output was queued (a reply or a pushed event) and `unsentOutput` bytes now wait for the client:
    /// true when the client passed the hard limit and must be disconnected (the flow is then closing).
    mutating func outputQueued(unsentOutput: Int) -> Bool {
        guard state != .closing, unsentOutput > limits.outputLimit else { return false }
        state = .closing
        return true
    }

    /// The connection is being closed: nothing more is read or executed.
    mutating func close() {
        state = .closing
        heldRead = false
    }
}
