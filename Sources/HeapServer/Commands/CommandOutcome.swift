import HeapProtocol
import NIOCore

/// What is to happen after a command ran inside the heap's gate: the one way a command hands work to
/// its connection (no closure is left in the session for someone to find).
///
/// Most commands reply at once. The others say here how their reply comes, and ``ConnectionHandler``
/// (through ``ConnectionStateMachine``) does it; the client's later requests wait in order meanwhile,
/// while the other clients of its event loop go on.
enum CommandOutcome {
    /// Send the reply now and go on with the next request.
    case reply(Reply)
    /// Send the reply, then close the connection (`QUIT`); requests after it are dropped.
    case replyAndClose(Reply)
    /// Run `work` once the batch has left the gate, on a blocking thread rather than the event loop:
    /// it stops the world, waits for the collector thread, or reads or writes a file. Its result is the
    /// reply; a command flagged ``CommandFlags/stopsTheWorld`` or ``CommandFlags/blocksOnFiles`` returns
    /// this.
    case afterGate(@Sendable () -> Reply)
    /// The reply comes later through a future on the session's event loop (`GC WAIT`).
    case later(AwaitedReply)
    /// A long command that runs in steps on the event loop (``SteppedCommand``).
    case stepped(SteppedCommand)

    /// The outcome without its payload, for ``ConnectionStateMachine``.
    var kind: Kind {
        switch self {
        case .reply: .reply
        case .replyAndClose: .replyAndClose
        case .afterGate, .later: .replyLater
        case .stepped: .stepped
        }
    }

    enum Kind: Equatable {
        case reply
        case replyAndClose
        case replyLater
        case stepped
    }
}

/// A reply a command completes later, on the session's event loop, and how to complete it at once (with
/// an error) when the client goes away first, so no promise is left unfulfilled.
struct AwaitedReply {
    let future: EventLoopFuture<Reply>
    let cancel: () -> Void
}
