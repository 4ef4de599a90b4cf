/// What CPython 3.11's `sys.getsizeof` answers on 64-bit Linux, as pure functions of what an object
/// holds: the model behind `SIZEOF` (protocol.md).
///
/// `sys.getsizeof(x)` is `type(x).__sizeof__(x)` plus the collector's 16-byte header for the types the
/// collector tracks. Each figure below was read off CPython 3.11.7's structs and checked against it
/// (`SizeofIntegrationTests` runs python3.11 on the same objects):
///
///     object             layout                                           getsizeof
///     None               PyObject                                         16
///     bool, int          PyLongObject, 30-bit digits (at least one)       24 + 4 · max(1, digits)
///     float              PyFloatObject                                    24
///     str                compact ASCII: 48-byte header, NUL-terminated    49 + n
///                        compact: 72-byte header, 1/2/4 bytes per code    73 + n, 74 + 2n, 76 + 4n
///                        point by the widest (Latin-1, BMP, astral)
///     bytes              PyBytesObject, NUL-terminated                    33 + n
///     tuple              GC header + PyVarObject + n pointers             40 + 8n
///     list               GC header + PyListObject + `allocated` pointers  56 + 8 · allocated
///     dict (str keys)    GC header + PyDictObject; + its keys object      64 (empty), 64 + 32 + size
///                        (index bytes · size + 16 · usable entries)          · index bytes + 16 · usable
///     set                GC header + PySetObject (8-entry small table);   216, + 16 · table size once
///                        a bigger table is allocated apart                   it outgrew the small one
///     instance           GC header + managed-dict pre-header + object     56 (attributes not counted)
///     weakref.ref        GC header + PyWeakReference                      80
///     iterators          range/list/tuple/str 48, dict keys 72, set 64
///
/// A list's size depends on its history, not only its length (``listGrowth(to:)``); heapd's lists
/// grow and shrink by the same rule, so their capacity is CPython's `allocated`. Dicts and sets are
/// modelled as built by insertions alone: CPython keeps a table at its largest after deletions
/// (``dict(count:)``, ``set(count:)``).
public enum CPythonSize {
    public static let none = 16
    public static let float = 24
    public static let instance = 56
    public static let weakref = 80

    /// `bool` and `int`: a header and 30-bit digits of the magnitude, at least one (0 and False too).
    public static func int(_ value: Int64) -> Int {
        var magnitude = value.magnitude
        var digits = 0
        while magnitude != 0 {
            digits += 1
            magnitude >>= 30
        }
        return 24 + 4 * max(1, digits)
    }

    /// A `str` of these UTF-8 bytes: its kind is decided by its widest code point (PEP 393).
    public static func str(utf8: some Collection<UInt8>) -> Int {
        var codePoints = 0
        var widest: UInt32 = 0
        for scalar in String(decoding: utf8, as: UTF8.self).unicodeScalars {
            codePoints += 1
            widest = max(widest, scalar.value)
        }
        switch widest {
        case ..<0x80: return 49 + codePoints
        case ..<0x100: return 73 + codePoints
        case ..<0x1_0000: return 74 + 2 * codePoints
        default: return 76 + 4 * codePoints
        }
    }

    public static func bytes(count: Int) -> Int { 33 + count }

    public static func tuple(count: Int) -> Int { 40 + 8 * count }

    public static func list(allocated: Int) -> Int { 56 + 8 * allocated }

    /// `list_resize`'s over-allocation when a list of `newSize - 1` items has no room for one more
    /// (`append`, `insert`): about an eighth more plus 6, rounded down to a multiple of 4.
    /// 0 → 4 → 8 → 16 → 24 → 32 → 40 → 52 → 64 → 76 → …
    public static func listGrowth(to newSize: Int) -> Int {
        (newSize + newSize >> 3 + 6) & ~3
    }

    /// `list_resize` on removing an item: the array is cut only when the list falls below half of it,
    /// to the same over-allocation (and to nothing once empty). Returns the new `allocated`.
    public static func listAfterRemoval(newSize: Int, allocated: Int) -> Int {
        if newSize >= allocated >> 1 { return allocated }
        return newSize == 0 ? 0 : listGrowth(to: newSize)
    }

    /// `list(iterable)` of an iterator whose length hint was `count` (exact for heapd's generators):
    /// `list_preallocate_exact` rounds up to an even number of items.
    public static func listFromIterator(count: Int) -> Int { (count + 1) & ~1 }

    /// A dict with `count` str keys, built from `{}` by insertions (`d[k] = v`): the keys object starts at
    /// 8 slots (5 usable) and is resized, when its usable entries run out, to the smallest power of two
    /// above `3 · used` (`GROWTH_RATE`, `calculate_log2_keysize`).
    public static func dict(count: Int) -> Int {
        guard count > 0 else { return 64 }
        var log2Size = 3
        var used = 0
        while used < count {
            let usable = usableEntries(log2Size: log2Size)
            if count <= usable { break }
            // Full at `usable` live entries: resize by 3 · used.
            used = usable
            log2Size = log2KeySize(minimum: 3 * used)
        }
        let size = 1 << log2Size
        let indexBytes = size <= 0x80 ? 1 : size <= 0x8000 ? 2 : size <= 0x8000_0000 ? 4 : 8
        return 64 + 32 + indexBytes * size + 16 * usableEntries(log2Size: log2Size)
    }

    private static func usableEntries(log2Size: Int) -> Int { ((1 << log2Size) << 1) / 3 }

    /// `calculate_log2_keysize`: the bit length of `(minimum | 8) - 1`, at least 3.
    private static func log2KeySize(minimum: Int) -> Int {
        let value = ((minimum | 8) - 1) | 7
        return Int.bitWidth - value.leadingZeroBitCount
    }

    /// A set of `count` elements built by insertions (`set()`, `{a, b}`, `s.add`): the 8-entry small
    /// table until it is 3/5 full, then a table of the smallest power of two above `4 · used`
    /// (`2 · used` past 50,000), 16 bytes an entry.
    public static func set(count: Int) -> Int {
        var mask = 7
        var fill = 0
        while fill < count {
            // The next resize comes once fill · 5 ≥ mask · 3.
            let full = (mask * 3 + 4) / 5
            if count < full { break }
            fill = full
            let minimum = fill > 50_000 ? fill * 2 : fill * 4
            var size = 8
            while size <= minimum { size <<= 1 }
            mask = size - 1
        }
        return 216 + (mask == 7 ? 0 : 16 * (mask + 1))
    }

    /// An iterator (heapd's generator modes): `range_iterator`, `list_iterator`, `tuple_iterator`,
    /// `str_ascii_iterator`/`str_iterator` 48; `dict_keyiterator` 72; `set_iterator` 64.
    public static func iterator(overDict: Bool, overSet: Bool) -> Int {
        overDict ? 72 : overSet ? 64 : 48
    }
}
