/// `repr(x)` as an operation that may stop between two items and go on later: the same text as
/// ``Heap/repr(_:maxDepth:maxItems:maxBytes:)``, written with an explicit stack instead of recursion.
///
/// A repr is bounded by `max-reply` (16 MiB), but writing 16 MiB of nested lists takes a few hundred
/// milliseconds: `REPR` runs it in steps (a ``SafepointCounter`` every 1024 items), so the client's
/// event loop serves its other clients in between. Each container on the stack holds a retained
/// snapshot of the items it shows (read under its lock, as the recursive form does); ``holding`` names
/// them, for the owner to publish while suspended. Every method runs inside the heap's gate (shared).
public final class ReprWriter {
    /// A container being written: its shown items (retained), where the writing is, how it ends.
    private struct Frame {
        let slot: UInt32
        /// A list's or tuple's items; a dict's keys and values in turn; a set's keys.
        var items: [ObjectRef]
        let pairs: Bool
        var next = 0
        /// How many items (entries) the container has; more than shown gives `...(n more)`.
        let count: Int
        let shown: Int
        let close: String
        let trailingComma: Bool
        let depth: Int
    }

    private let heap: Heap
    private let maxItems: Int
    private let maxBytes: Int
    private var stack: [Frame] = []
    private var active = Set<UInt32>()
    private var output = ""
    private var exceeded = false
    private var finished = false

    /// Starts `repr(ref)` (borrowed: the caller keeps it alive until the writer finishes).
    public init(heap: Heap, _ ref: ObjectRef, maxDepth: Int = 8, maxItems: Int = 100, maxBytes: Int = .max) {
        self.heap = heap
        self.maxItems = maxItems
        self.maxBytes = maxBytes
        write(ref, depth: maxDepth)
    }

    /// The references the writer holds (the snapshots of the containers it is inside).
    public var holding: [ObjectRef] { stack.flatMap(\.items) }

    /// Writes until done, then returns the text (`.some(nil)` when it would pass `maxBytes`); returns
    /// nil when `safepoint` asked to suspend. A safepoint's error finishes the writer (what it held is
    /// released) and is thrown.
    public func resume(safepoint: (any Safepoint)?) throws(HeapError) -> String?? {
        precondition(!finished, "ReprWriter resumed after it finished")
        var safepoints = SafepointCounter(safepoint)
        do throws(HeapError) {
            while !stack.isEmpty && !exceeded {
                if try safepoints.step(holding: holding) { return nil }
                let top = stack.count - 1
                let frame = stack[top]
                guard frame.next < frame.items.count else {
                    if frame.count > frame.shown { output += ", ...(\(frame.count - frame.shown) more)" }
                    if frame.trailingComma { output += "," }
                    output += frame.close
                    pop()
                    continue
                }
                let index = frame.next
                stack[top].next += 1
                if index > 0 { output += frame.pairs && index % 2 == 1 ? ": " : ", " }
                write(frame.items[index], depth: frame.depth - 1)
            }
        } catch {
            cancel()
            throw error
        }
        let result = exceeded || output.utf8.count > maxBytes ? nil : output
        cancel()
        return .some(result)
    }

    /// Releases the snapshots; the writer is finished.
    public func cancel() {
        while !stack.isEmpty { pop() }
        finished = true
    }

    private func pop() {
        let frame = stack.removeLast()
        active.remove(frame.slot)
        for item in frame.items { heap.release(item) }
    }

    /// Whether the text, plus `more` bytes still to come, passes the bound (the walk then stops).
    private func over(adding more: Int = 0) -> Bool {
        if !exceeded && output.utf8.count > maxBytes &- more { exceeded = true }
        return exceeded
    }

    /// Writes a scalar, or opens a container (pushed, written by ``resume(safepoint:)``).
    private func write(_ ref: ObjectRef, depth: Int) {
        if over() { return }
        let kind = heap.kind(of: ref)
        switch kind {
        case .list, .tuple, .set, .dict:
            open(ref, kind, depth: depth)
        case .str:
            // Its repr is at least its bytes and two quotes: measured before the copy.
            if over(adding: heap.layout(ref).byteCount + 2) { return }
            output += heap.scalarRepr(ref)
        default:
            output += heap.scalarRepr(ref)
        }
    }

    private func open(_ ref: ObjectRef, _ kind: ObjectKind, depth: Int) {
        let (open, close) =
            switch kind {
            case .list: ("[", "]")
            case .tuple: ("(", ")")
            default: ("{", "}")
            }
        if active.contains(ref.slot) || depth <= 0 {
            output += open + "..." + close
            return
        }
        let items: [ObjectRef]
        let count: Int
        let shown: Int
        switch kind {
        case .list, .tuple:
            (items, count) = heap.itemPrefix(of: ref, limit: maxItems)
            shown = items.count
        default:
            let (entries, total) = heap.entryPrefix(of: ref, limit: maxItems)
            if kind == .set && total == 0 {
                output += "set()"
                return
            }
            items = entries.flatMap { entry in [entry.key] + (entry.value.map { [$0] } ?? []) }
            count = total
            shown = entries.count
        }
        output += open
        active.insert(ref.slot)
        stack.append(
            Frame(
                slot: ref.slot, items: items, pairs: kind == .dict, count: count, shown: shown, close: close,
                trailingComma: kind == .tuple && count == 1, depth: depth))
    }
}
