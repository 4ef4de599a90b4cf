/// A place in a long heap operation where it may be paused for a stop of the world, or stopped.
///
/// Operations whose work grows with what a client asks for (`sum()` and `list()` over a generator of
/// 2⁶³ ints) would otherwise hold the ``MutatorGate`` for as long as they run: every stop-the-world
/// command and the collector would wait for them, and so would the daemon's shutdown. Such an operation
/// calls ``reached(holding:)`` every 1024 steps, at a point where the heap is sound: every
/// object it made is either inside the heap (an item already stored in the list being built) or one of
/// the references it passes (the list itself, its iterator), and it holds no container's lock.
///
/// The implementation (the server's, per command) may
/// - throw, to stop the operation: it then releases what it holds and returns the error, leaving the
///   heap as a Python exception would (a generator consumed up to the point reached);
/// - leave the gate for a pending stop and enter it again (``MutatorGate/yieldToStop()``), after
///   publishing `holding` as references held outside the heap, so the verifier counts them while the
///   world is stopped.
public protocol Safepoint: AnyObject {
    /// Called with the references the operation holds besides those its caller passed it (borrowed: the
    /// operation keeps owning them).
    func reached(holding: [ObjectRef]) throws(HeapError)
}

/// Counts an operation's steps and calls its safepoint every ``interval`` of them.
struct SafepointCounter {
    /// Steps between two calls: small enough that a stop waits microseconds, large enough that the call
    /// costs nothing measurable (a step of `sum()` takes tens of nanoseconds).
    static let interval = 1024

    let safepoint: (any Safepoint)?
    private var countdown = Self.interval

    init(_ safepoint: (any Safepoint)?) {
        self.safepoint = safepoint
    }

    /// One step done; at every interval, the safepoint with what the operation holds.
    @inline(__always)
    mutating func step(holding: @autoclosure () -> [ObjectRef]) throws(HeapError) {
        guard let safepoint else { return }
        countdown -= 1
        if countdown > 0 { return }
        countdown = Self.interval
        try safepoint.reached(holding: holding())
    }
}
