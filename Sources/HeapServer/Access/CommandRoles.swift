/// The role each command needs: the whole classification in one table, so a reviewer reads it at once
/// and protocol.md §7 can be checked against it (a test does: every command in ``CommandTable`` is
/// named here, and the dangerous ones are `admin`).
///
/// The rules behind it:
/// - `monitor` reads and changes nothing, not even its own session (no variables, no scopes); it may
///   subscribe to events and move its own `AT` position, which only labels its own allocations.
/// - `user` may do what a Python thread may do to its own frames and the module's globals, and
///   `gc.collect()`; it may read the collector's and tracemalloc's state but not change it, because
///   those are server-wide switches every other client lives with (`GC DISABLE`, thresholds, debug
///   output into heapd's log, freezing, clearing gc.garbage, tracing on or off, peaks, snapshots,
///   which cost memory until dropped, and files).
/// - `admin` is the rest: the switches above, the snapshot files, and what stalls or tests the daemon.
///
/// A command missing from the table needs `admin`: a command added without thought fails closed.
enum CommandRoles {
    static let table: [String: ClientRole] = [
        // Connection and server
        "PING": .monitor, "ECHO": .monitor, "QUIT": .monitor, "HELP": .monitor, "INFO": .monitor, "METRICS": .monitor,
        "CLIENT LIST": .monitor, "CLIENT INFO": .monitor,
        // What a connection says about itself (its encoding, name and library) changes no one else, as
        // `AT` does not; the command table is read-only. Closing other clients' sessions is admin's.
        "HELLO": .monitor, "CLIENT ID": .monitor, "CLIENT SETNAME": .monitor, "CLIENT GETNAME": .monitor,
        "CLIENT SETINFO": .monitor, "CLIENT KILL": .admin,
        "COMMAND": .monitor, "COMMAND COUNT": .monitor, "COMMAND LIST": .monitor, "COMMAND INFO": .monitor,
        "COMMAND DOCS": .monitor,
        // Stops the world for a full check, as the views do, but it is a developer's tool, not a probe.
        "DEBUG VERIFY": .user,
        // Heap images: writing one is a file in heapd's directory and a stop of the world; when the
        // last one was written is a read.
        "SAVE": .admin, "BGSAVE": .admin, "LASTSAVE": .monitor,

        // Creating, naming, deleting; containers; weak references and finalizers; generators (advancing
        // one mutates it); scopes.
        "NEW": .user, "SET": .user, "DEL": .user,
        "APPEND": .user, "INSERT": .user, "GETITEM": .user, "SETITEM": .user, "DELITEM": .user, "POP": .user,
        "ADD": .user, "DISCARD": .user, "REMOVE": .user, "CLEAR": .user,
        "GETATTR": .user, "SETATTR": .user, "DELATTR": .user,
        "WEAKREF": .user, "DEREF": .user, "FINALIZER": .user,
        "NEXT": .user, "LIST": .user, "SUM": .user,
        "SCOPE PUSH": .user, "SCOPE POP": .user,

        // Read-only introspection (an `#id` is enough to name the object).
        "LEN": .monitor, "CONTAINS": .monitor, "GETREFCOUNT": .monitor, "REFCOUNT": .monitor, "TYPE": .monitor,
        "ID": .monitor, "REPR": .monitor, "VARS": .monitor, "SCOPE LIST": .monitor,

        // The views. GROWTH moves the server-wide peaks the next GROWTH compares against: a change.
        "TYPES": .monitor, "CHAIN": .monitor, "GRAPH": .monitor, "DOCTOR": .monitor, "GROWTH": .user,
        "SIZEOF": .monitor,

        // The collector: reads, collections, and the server-wide switches.
        "GC ISENABLED": .monitor, "GC GET_COUNT": .monitor, "GC GET_THRESHOLD": .monitor,
        "GC GET_STATS": .monitor, "GC GARBAGE": .monitor, "GC GET_OBJECTS": .monitor,
        "GC GET_REFERRERS": .monitor, "GC GET_REFERENTS": .monitor, "GC IS_TRACKED": .monitor,
        "GC IS_FINALIZED": .monitor, "GC GET_FREEZE_COUNT": .monitor, "GC GET_DEBUG": .monitor,
        "GC HEARTBEAT": .monitor, "GC SUBSCRIBE": .monitor, "GC UNSUBSCRIBE": .monitor,
        "GC WAIT": .monitor, "GC GET_UNREACHABLE": .monitor,
        "GC COLLECT": .user,
        "GC ENABLE": .admin, "GC DISABLE": .admin, "GC SET_THRESHOLD": .admin, "GC FREEZE": .admin,
        "GC UNFREEZE": .admin, "GC SET_DEBUG": .admin, "GC DEBUG_STALL": .admin,

        // tracemalloc: reads of the tracer and of stored snapshots; everything that changes the tracer,
        // stores or drops a snapshot, or touches a file is admin.
        "AT": .monitor,
        "TRACEMALLOC IS_TRACING": .monitor, "TRACEMALLOC GET_TRACEBACK_LIMIT": .monitor,
        "TRACEMALLOC GET_TRACED_MEMORY": .monitor, "TRACEMALLOC GET_TRACEMALLOC_MEMORY": .monitor,
        "TRACEMALLOC GET_OBJECT_TRACEBACK": .monitor, "TRACEMALLOC SNAPSHOTS": .monitor,
        "TRACEMALLOC STATISTICS": .monitor, "TRACEMALLOC COMPARE": .monitor,
        "TRACEMALLOC START": .admin, "TRACEMALLOC STOP": .admin, "TRACEMALLOC RESET_PEAK": .admin,
        "TRACEMALLOC CLEAR_TRACES": .admin, "TRACEMALLOC TAKE_SNAPSHOT": .admin,
        "TRACEMALLOC DROP_SNAPSHOT": .admin, "TRACEMALLOC FILTER": .admin, "TRACEMALLOC DUMP": .admin,
        "TRACEMALLOC LOAD": .admin,
    ]

    /// Commands whose first argument can ask for more (`GC GARBAGE` lists, `GC GARBAGE CLEAR` empties).
    static let byFirstArgument: [String: [String: ClientRole]] = [
        "GC GARBAGE": ["CLEAR": .admin, "GETITEM": .user]
    ]

    /// The role `name` needs; `admin` for a command the table does not know.
    static func role(of name: String) -> ClientRole { table[name] ?? .admin }
}
