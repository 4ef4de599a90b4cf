/// A value per handle-table slot for a walk over the heap, allocated a chunk at a time as it is written.
///
/// Why not one array of `slotsEverUsed` entries: a table that once held twelve million objects makes
/// that 48 MB for a `UInt32`, and zeroing it (page faults included) takes tens of milliseconds, all
/// in the first step of a view, with the world stopped. Chunks of ``chunkSize`` entries cost tens of
/// microseconds each and only where the walk goes: a walk that reaches two million objects touches
/// the chunks that hold them.
struct SlotMap<Element> {
    static var chunkShift: Int { 16 }
    static var chunkSize: Int { 1 << chunkShift }

    private var chunks: [[Element]?]
    private let empty: Element
    /// The number of slots covered; reads beyond it give the default value, writes beyond it are ignored.
    let count: Int

    init(count: Int, default empty: Element) {
        self.count = count
        self.empty = empty
        chunks = Array(repeating: nil, count: (count + Self.chunkSize - 1) >> Self.chunkShift)
    }

    subscript(slot: Int) -> Element {
        get {
            guard slot < count, let chunk = chunks[slot >> Self.chunkShift] else { return empty }
            return chunk[slot & (Self.chunkSize - 1)]
        }
        set {
            guard slot < count else { return }
            let index = slot >> Self.chunkShift
            if chunks[index] == nil { chunks[index] = Array(repeating: empty, count: Self.chunkSize) }
            chunks[index]![slot & (Self.chunkSize - 1)] = newValue
        }
    }

    subscript(slot: UInt32) -> Element {
        get { self[Int(slot)] }
        set { self[Int(slot)] = newValue }
    }
}
