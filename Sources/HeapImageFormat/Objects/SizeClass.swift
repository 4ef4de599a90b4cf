/// The small-block size classes, as in CPython's obmalloc: every request up to ``maxSmall`` bytes is
/// rounded up to a multiple of ``alignment`` and served from a pool holding blocks of exactly that size.
///
/// Here, not in HeapCore's allocator, because an image's reader counts an object's bytes as the live
/// heap does (``ImageAnalysis``): both round through this one table. `@inlinable` because the
/// allocator asks it on every allocation and free, across the module boundary.
public enum SizeClass {
    /// Block alignment and class granularity (CPython uses 16 on 64-bit platforms since 3.8).
    @inlinable public static var alignment: Int { 16 }
    /// The largest request served from pools; bigger payloads go to the system allocator.
    @inlinable public static var maxSmall: Int { 512 }
    /// Number of classes: 16, 32, …, 512.
    @inlinable public static var count: Int { maxSmall / alignment }

    /// The class index of a request of `size` bytes (1...maxSmall).
    @inlinable @inline(__always)
    public static func index(for size: Int) -> Int {
        (max(size, 1) - 1) >> 4
    }

    /// The block size of class `index`.
    @inlinable @inline(__always)
    public static func blockSize(_ index: Int) -> Int {
        (index + 1) << 4
    }

    /// The bytes a request of `size` really takes: its class's block size, or the size itself when large.
    @inlinable @inline(__always)
    public static func footprint(_ size: Int) -> Int {
        size > maxSmall ? size : blockSize(index(for: size))
    }
}
