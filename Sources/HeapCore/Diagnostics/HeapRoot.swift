/// A reference held from outside the heap — a session's variable, a global, an entry of `gc.garbage` —
/// with the name a person knows it by.
///
/// The heap cannot see variables (they live in the server's sessions), so the views that need roots
/// (`CHAIN`, `GRAPH`, `DOCTOR`) take them from the caller; `gc.garbage`, which the heap owns, is added by
/// the heap itself (see ``StoppedHeap/roots(adding:)``).
public struct HeapRoot: Sendable, Equatable {
    /// What holds the reference.
    public enum Holder: Sendable, Equatable {
        /// A session's variable (its own or another client's).
        case variable
        /// A global, `g.name`.
        case global
        /// An entry of `gc.garbage`.
        case garbageList
    }

    /// How a person names it: `x`, `client 7: x`, `g.cache`, `gc.garbage[0]`.
    public let label: String
    /// The object it references (borrowed: the holder owns the reference).
    public let ref: ObjectRef
    public let holder: Holder

    public init(label: String, ref: ObjectRef, holder: Holder) {
        self.label = label
        self.ref = ref
        self.holder = holder
    }
}

extension StoppedHeap {
    /// `external` followed by one root per entry of `gc.garbage`.
    public func roots(adding external: [HeapRoot]) -> [HeapRoot] {
        external
            + heap.collector.garbageReferences().enumerated().map { index, ref in
                HeapRoot(label: "gc.garbage[\(index)]", ref: ref, holder: .garbageList)
            }
    }
}
