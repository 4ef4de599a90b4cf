/// What a generator produces: the mode byte of a generator object and of its image record.
///
/// Here, with ``ObjectKind``, because an image's reader refuses a generator record whose mode no heap
/// makes; HeapCore's generators (`Heap.GeneratorMode`) are this type.
public enum GeneratorMode: UInt8, CaseIterable, Sendable {
    /// Ints from a start by a step, `remaining` more of them.
    case range = 0
    /// The items of a list, reading its length afresh at each step (CPython's listiter).
    case list
    case tuple
    /// The keys of a dict, in insertion order.
    case dictKeys
    case set
    /// The code points of a str, as 1-character strs.
    case str
}
