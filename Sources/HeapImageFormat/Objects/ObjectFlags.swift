/// The bits of an object header's flags byte that outlive a collection, which a heap image keeps (its
/// records' flags byte is the header's, masked to these). HeapCore's `ObjectLayout` draws the header
/// and adds the collector's scratch bits (6 and 7), clear outside a collection.
///
///     bit 0 tracked · bits 1-2 generation (3 = permanent, after freeze) · bit 3 has `__del__`
///     bit 4 legacy finalizer (`tp_del`) · bit 5 finalized (PEP 442)
///
/// Computed and `@inlinable`: the heap tests these bits on every reference count change, and a stored
/// constant in another module would be a load through an accessor instead of an immediate.
public enum ObjectFlags {
    @inlinable public static var tracked: UInt8 { 1 << 0 }
    @inlinable public static var generationShift: UInt8 { 1 }
    @inlinable public static var generationMask: UInt8 { 0b110 }
    @inlinable public static var finalizer: UInt8 { 1 << 3 }
    @inlinable public static var legacyFinalizer: UInt8 { 1 << 4 }
    @inlinable public static var finalized: UInt8 { 1 << 5 }
    /// Every bit above: what an image keeps.
    @inlinable public static var persistent: UInt8 { 0b0011_1111 }
    /// In an image record of an instance only (not in the header's flags byte, where bits 6-7 are the
    /// collector's scratch): its attributes were set out of its class's shared-key order.
    @inlinable public static var unsortedAttributes: UInt8 { 1 << 6 }
    /// In an image record of an instance only: its attributes live in a dict of its own (a name did not
    /// fit its class's shared keys).
    @inlinable public static var combinedAttributes: UInt8 { 1 << 7 }
    /// The generation a tracked object's flags name (3: the permanent generation).
    @inlinable public static func generation(_ flags: UInt8) -> Int { Int((flags & generationMask) >> generationShift) }
}
