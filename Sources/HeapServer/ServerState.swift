import Foundation
import HeapCore
import Logging
import Synchronization

/// What every connection shares: the heap, the globals, the live sessions and the server's counters.
final class ServerState: Sendable {
    let heap: Heap
    let globals = GlobalNamespace()
    let configuration: ServerConfiguration
    let logger: Logger
    let startTime = Date()

    let connectedClients = Atomic<Int>(0)
    let totalConnections = Atomic<Int>(0)
    let totalCommands = Atomic<Int>(0)
    let rejectedConnections = Atomic<Int>(0)
    private let nextShard = Atomic<Int>(0)
    private let nextClientID = Atomic<Int>(0)
    /// Live sessions by client id, so the verifier can count the references their variables hold.
    private let sessions = LockedValue<[Int: SessionBox]>([:])

    init(configuration: ServerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        heap = Heap(configuration: configuration.heap)
    }

    /// Registers a new session; returns nil (and counts a rejection) when the client limit is reached.
    func openSession() -> Session? {
        let connected = connectedClients.add(1, ordering: .relaxed).newValue
        if connected > configuration.maxClients {
            connectedClients.subtract(1, ordering: .relaxed)
            rejectedConnections.add(1, ordering: .relaxed)
            return nil
        }
        totalConnections.add(1, ordering: .relaxed)
        let id = nextClientID.add(1, ordering: .relaxed).newValue
        let shard = nextShard.add(1, ordering: .relaxed).newValue % configuration.heap.shardCount
        let session = Session(id: id, shard: shard, state: self)
        sessions.withLock { $0[id] = SessionBox(session: session) }
        return session
    }

    /// Closes a session: every reference it held is released.
    func closeSession(_ session: Session) {
        sessions.withLock { $0[session.id] = nil }
        heap.gate.shared { session.releaseAll() }
        connectedClients.subtract(1, ordering: .relaxed)
    }

    /// The references held outside the heap: session variables and globals. Call with the gate held
    /// exclusively, when no session runs.
    func externalReferencesStopped() -> [ObjectRef: Int] {
        var counts: [ObjectRef: Int] = [:]
        for ref in globals.snapshot().values { counts[ref, default: 0] += 1 }
        for box in sessions.withLock({ Array($0.values) }) {
            for ref in box.session.allReferences() { counts[ref, default: 0] += 1 }
        }
        return counts
    }

    /// Releases the globals (at shutdown, after every session closed).
    func releaseGlobals() {
        heap.gate.shared {
            for ref in globals.removeAll() { heap.release(ref) }
        }
    }
}

/// Lets the registry hold sessions, which are confined to their connection's event loop.
///
/// Safe because the registry only reads a session's bindings while holding the heap's gate
/// exclusively, when no event loop is executing a command on it.
struct SessionBox: @unchecked Sendable {
    let session: Session
}
