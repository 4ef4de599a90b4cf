/// The geometry of a dict, set or instance hash table (HeapCore's `HashStorage` draws its layout):
/// the sizes it may have, how many entries each holds, and the bytes it takes. The heap sizes its
/// tables with these; an image's reader refuses a table no heap makes, and its analysis counts a
/// table's bytes, with the same formulas.
public enum HashTableSize {
    /// The smallest table (index slots); sizes are powers of two from here.
    @inlinable public static var minimum: Int { 8 }

    /// Entries a table of `size` index slots holds before it grows (CPython's two thirds).
    @inlinable public static func usable(size: Int) -> Int { size * 2 / 3 }

    /// The bytes of a table of `size` index slots: size and used, the indices, the entries.
    @inlinable public static func byteSize(size: Int) -> Int { 8 + 4 * size + 12 * usable(size: size) }
}
