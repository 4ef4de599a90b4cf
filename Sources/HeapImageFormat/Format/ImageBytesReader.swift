/// Reads little-endian fields from a byte array, bounds-checked: running past the end throws
/// `truncated` (or `corrupt` inside a section, whose length the checksum vouched for).
package struct ImageBytesReader {
    package let bytes: [UInt8]
    package var offset: Int
    package let end: Int
    /// What running out of bytes means here: the file ended early, or a checksummed section lied.
    package let shortage: ImageError.Kind
    package let what: String

    package init(_ bytes: [UInt8], from offset: Int = 0, to end: Int? = nil, shortage: ImageError.Kind, what: String) {
        self.bytes = bytes
        self.offset = offset
        self.end = end ?? bytes.count
        self.shortage = shortage
        self.what = what
    }

    package var remaining: Int { end - offset }
    package var atEnd: Bool { offset == end }

    @inline(__always)
    package mutating func need(_ count: Int) throws(ImageError) {
        guard count >= 0, count <= remaining else { throw shortageError(count) }
    }

    private func shortageError(_ count: Int) -> ImageError {
        ImageError(
            shortage,
            shortage == .truncated
                ? "image truncated: \(what) needs \(count) bytes at offset \(offset), the file ends at \(end)"
                : "image corrupt: \(what) runs past its section's end at offset \(offset)")
    }

    package mutating func u8() throws(ImageError) -> UInt8 {
        try need(1)
        defer { offset += 1 }
        return bytes[offset]
    }

    // The one unsafe read of the image code: an unaligned load from the array's own storage, at an
    // offset `need` has just checked against the end (which is within the array).
    package mutating func u32() throws(ImageError) -> UInt32 {
        try need(4)
        let value = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
        offset += 4
        return UInt32(littleEndian: value)
    }

    package mutating func u64() throws(ImageError) -> UInt64 {
        try need(8)
        let value = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self) }
        offset += 8
        return UInt64(littleEndian: value)
    }

    package mutating func slice(_ count: Int) throws(ImageError) -> ArraySlice<UInt8> {
        try need(count)
        defer { offset += count }
        return bytes[offset..<offset + count]
    }
}
