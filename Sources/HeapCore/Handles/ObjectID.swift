/// The public, never-ambiguous name of an object: its handle-table slot and the slot's generation.
///
///     63                      32 31                       0
///     +-------------------------+--------------------------+
///     | slot generation (reuse) |        slot index        |
///     +-------------------------+--------------------------+
///
/// A slot's generation starts at 0 and grows each time the slot is freed, so the first object in a slot
/// has a small id (`#17`) and a later tenant of the same slot a different one. An id whose generation no
/// longer matches its slot names a dead object and is answered with `NOOBJ`, never with the new tenant.
public struct ObjectID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    init(slot: UInt32, generation: UInt32) {
        rawValue = UInt64(generation) << 32 | UInt64(slot)
    }

    /// The slot index in the handle table.
    public var slot: UInt32 { UInt32(truncatingIfNeeded: rawValue) }
    /// How many times the slot had been freed when this object took it.
    public var generation: UInt32 { UInt32(truncatingIfNeeded: rawValue >> 32) }

    /// `#17`, the form the protocol accepts.
    public var description: String { "#\(rawValue)" }
}

/// A counted (strong) reference to a live object: the slot it occupies.
///
/// A holder of an `ObjectRef` owns one unit of the object's reference count, so the slot cannot be
/// freed or reused while the value is held; that is why a reference needs no generation. Swift does not
/// track this ownership: every function that takes or returns one says whether it consumes, borrows or
/// hands over the count.
public struct ObjectRef: Hashable, Sendable, Comparable {
    public let slot: UInt32

    public init(slot: UInt32) {
        self.slot = slot
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.slot < rhs.slot }

    /// The immortal singletons (PEP 683) occupy the first slots.
    public static let none = ObjectRef(slot: 0)
    public static let `true` = ObjectRef(slot: 1)
    public static let `false` = ObjectRef(slot: 2)
    /// `()`: CPython's empty tuple is a shared, immortal, never-tracked singleton, and so is heapd's.
    public static let emptyTuple = ObjectRef(slot: 3)
    @usableFromInline static let immortalCount: UInt32 = 4

    /// Whether this is one of the immortal singletons, whose count never changes.
    @inlinable @inline(__always)
    public var isImmortal: Bool { slot < Self.immortalCount }
}
