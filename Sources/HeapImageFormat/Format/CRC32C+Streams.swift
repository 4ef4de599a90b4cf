/// CRC-32C of a long buffer as three interleaved streams, combined: the same value as
/// ``CRC32C/checksum(_:continuing:)``, about twice as fast on the image sections a restore checks.
///
/// Why: slicing-by-8 is bound by its dependency chain (each step's table index needs the last step's
/// CRC), not by the loads; three independent chains in one loop fill the pipeline the one chain
/// leaves idle. The buffer is cut into three equal parts whose CRCs are computed side by side, then
/// joined as zlib's `crc32_combine` joins CRCs: crc(A ‖ B) = crc(A) · x^(8·|B|) mod P ⊕ crc(B), with
/// the multiplication done in GF(2) by shifts (Mark Adler's `multmodp`/`x2nmodp`). The profile of a
/// 1M-object restore had CRC32C at 40% of the reader's time (1.8 GB/s).
extension CRC32C {
    /// Below this, one stream (the combining costs a few hundred nanoseconds).
    static let streamsThreshold = 1 << 14

    /// The CRC of `bytes`, continuing from `crc`, in three streams when the buffer is long.
    public static func checksumInStreams(_ bytes: ArraySlice<UInt8>, continuing crc: UInt32 = 0) -> UInt32 {
        guard bytes.count >= streamsThreshold else { return checksum(bytes, continuing: crc) }
        return bytes.withUnsafeBytes { raw in
            let part = raw.count / 3
            let base = raw.baseAddress!
            var (a, b, c) = (~crc, UInt32.max, UInt32.max)
            table.withUnsafeBufferPointer { table in
                let t = table.baseAddress!
                @inline(__always)
                func step(_ crc: UInt32, _ word: UInt64) -> UInt32 {
                    let low = crc ^ UInt32(truncatingIfNeeded: word)
                    let high = UInt32(truncatingIfNeeded: word >> 32)
                    return t[1792 + Int(low & 0xFF)] ^ t[1536 + Int(low >> 8 & 0xFF)]
                        ^ t[1280 + Int(low >> 16 & 0xFF)] ^ t[1024 + Int(low >> 24)] ^ t[768 + Int(high & 0xFF)]
                        ^ t[512 + Int(high >> 8 & 0xFF)] ^ t[256 + Int(high >> 16 & 0xFF)] ^ t[Int(high >> 24)]
                }
                // Invariant: a, b and c are the (inverted) CRCs of the first `index` bytes of each part.
                var index = 0
                let whole = part & ~7
                while index < whole {
                    a = step(a, UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self)))
                    b = step(
                        b, UInt64(littleEndian: base.loadUnaligned(fromByteOffset: part + index, as: UInt64.self)))
                    c = step(
                        c, UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 2 * part + index, as: UInt64.self)))
                    index += 8
                }
            }
            // The parts' last bytes, and the third part's extra tail, one stream each.
            // (`checksum` continuing from ~register goes on from that register, and returns a CRC.)
            let whole = part & ~7
            let first = checksum(UnsafeRawBufferPointer(rebasing: raw[whole..<part]), continuing: ~a)
            let second = checksum(UnsafeRawBufferPointer(rebasing: raw[part + whole..<2 * part]), continuing: ~b)
            let third = checksum(UnsafeRawBufferPointer(rebasing: raw[2 * part + whole..<raw.count]), continuing: ~c)
            return combine(combine(first, second, length: part), third, length: raw.count - 2 * part)
        }
    }

    /// crc(A ‖ B) from crc(A), crc(B) and |B| (zlib's `crc32_combine` for this polynomial).
    static func combine(_ first: UInt32, _ second: UInt32, length: Int) -> UInt32 {
        multiply(powerOfX(bytes: length), first) ^ second
    }

    /// a · b mod P, reflected (bit 31 is x⁰).
    private static func multiply(_ a: UInt32, _ b: UInt32) -> UInt32 {
        var mask: UInt32 = 1 << 31
        var product: UInt32 = 0
        var b = b
        while mask != 0 {
            if a & mask != 0 { product ^= b }
            mask >>= 1
            b = b & 1 != 0 ? (b >> 1) ^ 0x82F6_3B78 : b >> 1
        }
        return product
    }

    /// x^(8·bytes) mod P: squarings of x^(2^k) for the bits of 8·bytes.
    private static func powerOfX(bytes: Int) -> UInt32 {
        var result: UInt32 = 1 << 31
        var square: UInt32 = 1 << 30  // x¹
        var exponent = UInt(bytes) * 8
        while exponent != 0 {
            if exponent & 1 != 0 { result = multiply(square, result) }
            square = multiply(square, square)
            exponent >>= 1
        }
        return result
    }
}
