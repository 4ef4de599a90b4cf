/// Something the heap reports as it happens: a finalizer ran, a weak reference died, a collection
/// started or finished, or the collector's debug output (`DEBUG_STATS` and friends).
public enum HeapEvent: Sendable {
    /// An object's `__del__` (or legacy `tp_del`) ran: once per object (PEP 442).
    case finalizer(object: ObjectID, typeName: String)
    /// A weak reference was cleared because its target died (its callback would run now).
    case weakrefCleared(weakref: ObjectID, target: ObjectID)
    /// A collection is starting (`gc.callbacks` phase "start").
    case collectionStarted(generation: Int)
    /// A collection finished (`gc.callbacks` phase "stop").
    case collectionFinished(CollectionInfo)
    /// A line of the collector's debug output, for the log.
    case debug(String)
}

/// What one collection did: `gc.callbacks`' info dict, plus the pause it caused.
public struct CollectionInfo: Sendable, Equatable {
    public var generation: Int
    /// Unreachable objects freed (or saved to `garbage` under `DEBUG_SAVEALL`).
    public var collected: Int
    /// Unreachable objects kept because of legacy finalizers, and what they reach.
    public var uncollectable: Int
    /// Nanoseconds the mutators were stopped (waiting for the gate included).
    public var pauseNanoseconds: UInt64
    /// Objects examined (the generations collected).
    public var examined: Int
    /// A full collection that marked alive in steps: each step's stop, before the last stop
    /// (`pauseNanoseconds`); empty for a collection in one stop.
    public var markStepPauses: [UInt64] = []
}
