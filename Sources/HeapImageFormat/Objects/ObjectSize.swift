/// The block sizes of heapd's objects, before rounding to a ``SizeClass``: what the heap allocates
/// for each kind (HeapCore's `ObjectLayout` draws the fields; these are its totals) and what an image's
/// analysis counts, so that `heapctl inspect` and `INFO objects` agree on every byte.
///
/// Computed and `@inlinable`, as ``ObjectFlags`` is: the heap allocates with them on hot paths.
public enum ObjectSize {
    /// int and float: the header and an 8-byte value.
    @inlinable public static var scalar: Int { 16 }
    /// str and bytes: the header and a UInt32 length, before the bytes.
    @inlinable public static var bytesHeader: Int { 12 }
    /// A list's block; its items are inline (at most ``listInlineCapacity``) or in an array of their own.
    @inlinable public static var list: Int { 32 }
    @inlinable public static var listInlineCapacity: Int { 2 }
    /// The largest capacity (CPython's `allocated`) a list may have with its items still inline: what
    /// CPython's first append gives.
    @inlinable public static var listInlineMaxAllocated: Int { 4 }
    /// A tuple's block: its items are inline.
    @inlinable public static func tuple(count: Int) -> Int { 20 + 4 * count }
    /// dict, set and instance: the block; the hash table is a payload of its own (``HashTableSize``).
    @inlinable public static var hashObject: Int { 32 }
    /// A weak reference: the container header and its target's id.
    @inlinable public static var weakref: Int { 24 }
    @inlinable public static var generator: Int { 48 }
}
