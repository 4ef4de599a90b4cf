/// `list(x)` and `sum(x)` as operations that may stop between two items and continue later.
///
/// A consumer owns the iterator over `x` (a generator is its own iterator) and, for `list`, the list
/// built so far; ``holding`` names them, so that while the consumer is suspended its owner can publish
/// them as held outside the heap (the verifier counts them, the views show them as roots). Every method
/// runs inside the heap's gate (shared), on one thread at a time.
///
/// ```
/// init ──▶ resume ─┬─ nil (suspended at a safepoint) ──▶ resume ─▶ …
///                  ├─ the result (a new reference)   ──▶ finished
///                  └─ throws (the item's or the safepoint's error) ──▶ finished
///          cancel ───────────────────────────────────────────────▶ finished
/// ```
/// Finished, it holds nothing. As in Python, items consumed before an error or a cancel stay consumed.
public final class IterableConsumer {
    /// What the consumer computes.
    public enum Purpose: Sendable {
        /// `list(x)`: a new list of the remaining items.
        case list
        /// `sum(x)` over ints, floats and bools, one item alive at a time.
        case sum
    }

    private let heap: Heap
    private let shard: Int
    private let purpose: Purpose
    private var iterator: ObjectRef?
    /// The list being built (`.list`).
    private var list: ObjectRef?
    /// The partial sum (`.sum`): exact ints in 128 bits until a float comes, then floats in order.
    private var intTotal: Int128 = 0
    private var floatTotal: Double?

    /// Starts consuming `iterable` (borrowed): takes its iterator (`WRONGTYPE` if it has none) and, for
    /// a list, makes the empty list.
    public init(heap: Heap, consuming iterable: ObjectRef, for purpose: Purpose, shard: Int = 0) throws(HeapError) {
        self.heap = heap
        self.shard = shard
        self.purpose = purpose
        let iterator = try heap.makeIterator(over: iterable, shard: shard)
        if purpose == .list {
            do {
                list = try heap.makeList(shard: shard)
            } catch {
                heap.release(iterator, shard: shard)
                throw error
            }
            // As CPython's list() asks __length_hint__: a range says how many items come, so the list is
            // allocated once instead of regrown about twenty times on the way to ten million (each
            // regrowth copies the whole item array, tens of milliseconds at that size, in one step).
            // CPython rounds the hint up to an even number of items (`list_preallocate_exact`).
            if let hint = Self.lengthHint(heap, iterator), hint > 0 {
                // Refused by the memory cap: the list grows as it fills, and is refused then if it must.
                _ = heap.resizeList(
                    heap.layout(list!), capacity: CPythonSize.listFromIterator(count: min(hint, Self.maxPresize)),
                    shard: shard)
            }
        }
        self.iterator = iterator
    }

    /// The most items a list is allocated for ahead of them (64 MiB of item array).
    static let maxPresize = 1 << 24

    /// How many items a range generator will still produce; nil for other iterators.
    private static func lengthHint(_ heap: Heap, _ iterator: ObjectRef) -> Int? {
        let object = heap.layout(iterator)
        return object.lock.withLock { () -> Int? in
            guard object.generatorMode == Heap.GeneratorMode.range.rawValue else { return nil }
            return Int(exactly: object.generatorRemaining) ?? Int.max
        }
    }

    /// The references the consumer owns (nothing once finished).
    public var holding: [ObjectRef] { [iterator, list].compactMap { $0 } }

    /// Whether it finished (result returned, error thrown or cancelled).
    public var isFinished: Bool { iterator == nil }

    /// Consumes items until the iterable is exhausted, then returns the result (a new reference, which
    /// the caller owns); returns nil when `safepoint` asked to suspend (call again to go on). An error,
    /// the item's or the safepoint's, finishes the consumer: what it held is released, and the error
    /// thrown. `safepoint` is reached every ``SafepointCounter/interval`` items.
    public func resume(safepoint: (any Safepoint)?) throws(HeapError) -> ObjectRef? {
        guard let iterator else { preconditionFailure("IterableConsumer resumed after it finished") }
        var safepoints = SafepointCounter(safepoint)
        do throws(HeapError) {
            switch purpose {
            case .list:
                let object = heap.layout(list!)
                while true {
                    if try safepoints.step(holding: [iterator, list!]) { return nil }
                    guard let item = try heap.next(iterator, shard: shard) else { break }
                    // The list takes the item's reference over: no retain and release per item.
                    try heap.appendTaking(object, item, shard: shard)
                }
                // What list(iterable) allocates when the length hint was exact, as CPython's hints are for
                // the iterators heapd's generators stand for: the items rounded up to an even number.
                // heapd asks only a range for its hint, so other lists are cut (or grown) to that here.
                object.lock.withLock {
                    // The list may predate a background capture that started while the consumer was paused.
                    heap.willMutate(object.slot)
                    _ = heap.resizeList(
                        object, capacity: CPythonSize.listFromIterator(count: object.count), shard: shard)
                }
                let result = list!
                list = nil
                finish()
                return result
            case .sum:
                while true {
                    if try safepoints.step(holding: [iterator]) { return nil }
                    guard let item = try heap.next(iterator, shard: shard) else { break }
                    defer { heap.release(item, shard: shard) }
                    try add(item)
                }
                finish()
                if let floatTotal { return try heap.makeFloat(floatTotal, shard: shard) }
                guard let result = Int64(exactly: intTotal) else {
                    throw HeapError(.value, "sum \(intTotal) does not fit in a 64-bit int (heapd ints are 64-bit)")
                }
                return try heap.makeInt(result, shard: shard)
            }
        } catch {
            cancel()
            throw error
        }
    }

    /// Releases what the consumer holds (the list built so far is freed); it is then finished.
    public func cancel() {
        if let list { heap.release(list, shard: shard) }
        list = nil
        finish()
    }

    private func finish() {
        if let iterator { heap.release(iterator, shard: shard) }
        iterator = nil
    }

    /// Adds one item to the sum, as CPython 3.11's `sum()` does: ints exactly until a float comes, then
    /// floats in order; `TYPE` for anything else.
    private func add(_ item: ObjectRef) throws(HeapError) {
        let object = heap.layout(item)
        let integer: Int64
        switch object.kind {
        case .bool: integer = item == .true ? 1 : 0
        case .int: integer = object.intValue
        case .float:
            floatTotal = (floatTotal ?? Double(intTotal)) + object.floatValue
            return
        default:
            throw HeapError(
                .type,
                "unsupported operand type(s) for +: '\(floatTotal == nil ? "int" : "float")' and '\(heap.typeName(of: item))'"
            )
        }
        if let total = floatTotal {
            floatTotal = total + Double(integer)
            return
        }
        // No overflow: 2⁶⁴ items of at most 2⁶³ each would be needed to leave 128 bits.
        intTotal += Int128(integer)
    }
}
