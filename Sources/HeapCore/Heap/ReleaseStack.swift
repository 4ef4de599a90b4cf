/// The references still to drop of objects dying (or being cleared) one inside another, in CPython's
/// order: a dying container drops its references one at a time, and a referent that dies meanwhile
/// drops all of its own before its container drops the next one (`tp_dealloc` runs inside
/// `Py_DECREF`). Used by freeing (``Heap/deallocate(_:shard:)``) and by the collector's clearing of
/// its garbage, which follow the same order.
///
/// An explicit stack instead of recursion, so a long chain cannot overflow the thread's stack: each
/// dying object's references are a run of `pending`, innermost last, with where its container's run
/// resumes. A run begun when its container's run has nothing left to drop takes that run's place
/// (tail position), so dropping a long chain holds one run, not one per link.
struct ReleaseStack {
    private var pending: [UInt32]
    private var runs: [(start: Int, resume: Int)]
    private var next = 0

    /// An empty stack.
    init() {
        pending = []
        runs = []
    }

    /// A stack whose first run is `remaining`: the references a dying container has still to drop
    /// (its earlier ones are dropped already).
    init(remaining: [UInt32]) {
        pending = remaining
        runs = [(0, 0)]
    }

    /// Starts the run of `object`, whose references are now to be dropped, in release order (the
    /// order of `tp_clear` when `clearing`, else of `tp_dealloc`).
    @inline(__always)
    mutating func begin(_ object: ObjectLayout, heap: Heap, clearing: Bool = false) {
        let start: Int
        if let top = runs.last, next == pending.count {
            start = top.start
            truncate(to: start)
        } else {
            start = pending.count
            runs.append((start, next))
        }
        heap.forEachReferenceInReleaseOrder(of: object, clearing: clearing) { pending.append($0) }
        next = start
    }

    /// Whether the innermost run has no reference left to drop: an object beginning now would take
    /// its place (tail position).
    var isExhausted: Bool { next == pending.count }

    /// The next reference to drop, or nil when every run is done (the stack is then empty).
    @inline(__always)
    mutating func nextReference() -> UInt32? {
        while next == pending.count {
            // The innermost run is done: back to its container's.
            guard let done = runs.popLast(), !runs.isEmpty else {
                pending.removeAll(keepingCapacity: true)
                next = 0
                return nil
            }
            truncate(to: done.start)
            next = done.resume
        }
        next += 1
        return pending[next - 1]
    }

    /// One at a time: `removeLast(n)` is a generic range replacement (3% of dropping a chain).
    @inline(__always)
    private mutating func truncate(to count: Int) {
        while pending.count > count { pending.removeLast() }
    }
}
