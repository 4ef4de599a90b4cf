import HeapCore

/// Snapshots taken with `TRACEMALLOC TAKE_SNAPSHOT`, `FILTER` or `LOAD`, by number, server-wide.
///
/// In Python a snapshot is an object that lives while something refers to it; over a socket it is a
/// handle that lives until `TRACEMALLOC DROP_SNAPSHOT` (or the daemon stops), so one client can take
/// a snapshot and another compare against it. Their number is bounded, since each is a full copy of
/// the traces.
final class TraceSnapshotStore: Sendable {
    static let maxSnapshots = 64

    /// How a snapshot came to be: `DOCTOR` compares only snapshots taken of the live heap.
    enum Origin: String, Sendable {
        case taken, filtered, loaded
    }

    struct Entry: Sendable {
        let id: Int
        let snapshot: TraceSnapshot
        let origin: Origin
    }

    private struct State {
        var snapshots: [Int: Entry] = [:]
        var nextID = 1
    }

    private let state = LockedValue(State())

    /// Stores `snapshot` and returns its number; throws `LIMIT` when the store is full.
    func add(_ snapshot: TraceSnapshot, origin: Origin) throws(CommandError) -> Int {
        let id = state.withLock { state -> Int? in
            guard state.snapshots.count < Self.maxSnapshots else { return nil }
            let id = state.nextID
            state.nextID += 1
            state.snapshots[id] = Entry(id: id, snapshot: snapshot, origin: origin)
            return id
        }
        guard let id else {
            throw .limit("\(Self.maxSnapshots) snapshots are kept; drop one with TRACEMALLOC DROP_SNAPSHOT")
        }
        return id
    }

    func snapshot(_ id: Int) throws(CommandError) -> TraceSnapshot {
        guard let entry = state.withLock({ $0.snapshots[id] }) else { throw .noSnapshot(id) }
        return entry.snapshot
    }

    func drop(_ id: Int) throws(CommandError) {
        guard state.withLock({ $0.snapshots.removeValue(forKey: id) }) != nil else { throw .noSnapshot(id) }
    }

    /// How many snapshots are stored.
    var count: Int { state.withLock { $0.snapshots.count } }

    /// Every snapshot, oldest first.
    func all() -> [Entry] {
        state.withLock { $0.snapshots.values.sorted { $0.id < $1.id } }
    }
}

extension CommandError {
    /// A snapshot number that names no stored snapshot.
    static func noSnapshot(_ id: Int) -> Self { Self(.noSnapshot, "no snapshot numbered \(id)") }
}
