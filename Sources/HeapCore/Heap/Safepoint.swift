/// A place in a long heap operation where it may be paused for a stop of the world, suspended to let
/// its thread do other work, or stopped.
///
/// Operations whose work grows with what a client asks for (`sum()` and `list()` over a generator of
/// 2⁶³ ints) would otherwise hold the ``MutatorGate`` for as long as they run: every stop-the-world
/// command and the collector would wait for them, and so would the daemon's shutdown. Such an operation
/// calls ``reached(holding:)`` every ``SafepointCounter/interval`` steps (tens of microseconds of work),
/// at a point where the heap is sound: every object it made is either inside the heap (an item already
/// stored in the list being built) or one of the references it passes (the list itself, its iterator),
/// and it holds no container's lock.
///
/// The implementation (the server's, per command) may
/// - throw, to stop the operation: it then releases what it holds and returns the error, leaving the
///   heap as a Python exception would (a generator consumed up to the point reached);
/// - leave the gate for a pending stop and enter it again (``MutatorGate/yieldToStop()``), after
///   publishing `holding` as references held outside the heap, so the verifier counts them while the
///   world is stopped;
/// - answer ``SafepointAction/suspend``: the operation returns with its state kept (an
///   ``IterableConsumer`` continues where it stopped), so that its thread can serve other clients.
public protocol Safepoint: AnyObject {
    /// Called with the references the operation holds besides those its caller passed it (borrowed: the
    /// operation keeps owning them).
    func reached(holding: [ObjectRef]) throws(HeapError) -> SafepointAction
}

/// What an operation does after its safepoint.
public enum SafepointAction: Sendable, Equatable {
    /// Go on.
    case proceed
    /// Return now, resumable: the caller continues the operation later.
    case suspend
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

    /// One step done; at every interval, the safepoint with what the operation holds. Returns whether the
    /// operation should suspend.
    @inline(__always)
    mutating func step(holding: @autoclosure () -> [ObjectRef]) throws(HeapError) -> Bool {
        guard let safepoint else { return false }
        countdown -= 1
        if countdown > 0 { return false }
        countdown = Self.interval
        return try safepoint.reached(holding: holding()) == .suspend
    }
}

/// How much work one step of a view that stops the world may do before it gives the world back: until
/// a deadline, with the clock read once every ``unitsPerClockRead`` units of work (a unit is a slot
/// examined or a reference followed: tens of nanoseconds), so a step overruns its time by microseconds.
///
/// A step always does at least one unit, so a view makes progress however small its budget.
public struct StepBudget: Sendable {
    static let unitsPerClockRead = 256

    private let deadline: UInt64
    private var countdown = Self.unitsPerClockRead
    /// Units left when the budget counts work rather than time (``init(units:)``).
    private var unitsLeft = Int.max
    private var spentOut = false

    /// A budget of `nanoseconds` from now.
    public init(nanoseconds: UInt64) {
        deadline = nanoseconds == .max ? .max : CycleCollector.now() &+ nanoseconds
    }

    /// A budget of `units` units of work, whatever they take: steps of a known size, for tests.
    init(units: Int) {
        deadline = .max
        unitsLeft = max(units, 1)
    }

    /// No limit: the view finishes in one step (the unit tests' and the in-process callers' form).
    public static var unlimited: StepBudget { StepBudget(nanoseconds: .max) }

    /// What one call of a paged listing (`GC GET_OBJECTS`, `GET_REFERRERS`, `GET_UNREACHABLE`) may
    /// keep the world stopped: a millisecond from now.
    public static var listingCall: StepBudget { StepBudget(nanoseconds: 1_000_000) }

    /// Records `units` of work; false once the time is up (and from then on).
    @inline(__always)
    mutating func spend(_ units: Int = 1) -> Bool {
        if spentOut { return false }
        if unitsLeft != .max {
            unitsLeft -= units
            if unitsLeft < 0 { spentOut = true }
            return !spentOut
        }
        countdown -= units
        if countdown > 0 { return true }
        countdown = Self.unitsPerClockRead
        if deadline != .max && CycleCollector.now() >= deadline { spentOut = true }
        return !spentOut
    }

    /// Whether the time is up (without spending).
    var isSpent: Bool { spentOut }
}
