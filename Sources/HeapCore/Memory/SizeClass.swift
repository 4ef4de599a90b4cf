/// The small-block size classes, as in CPython's obmalloc: every request up to ``maxSmall`` bytes is
/// rounded up to a multiple of ``alignment`` and served from a pool holding blocks of exactly that size.
enum SizeClass {
    /// Block alignment and class granularity (CPython uses 16 on 64-bit platforms since 3.8).
    static let alignment = 16
    /// The largest request served from pools; bigger payloads go to the system allocator.
    static let maxSmall = 512
    /// Number of classes: 16, 32, …, 512.
    static let count = maxSmall / alignment

    /// The class index of a request of `size` bytes (1...maxSmall).
    @inline(__always)
    static func index(for size: Int) -> Int {
        (max(size, 1) - 1) >> 4
    }

    /// The block size of class `index`.
    @inline(__always)
    static func blockSize(_ index: Int) -> Int {
        (index + 1) << 4
    }

    /// The bytes a request of `size` really takes: its class's block size, or the size itself when large.
    @inline(__always)
    static func footprint(_ size: Int) -> Int {
        size > maxSmall ? size : blockSize(index(for: size))
    }
}
