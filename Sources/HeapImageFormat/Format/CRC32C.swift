/// CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78), the checksum of every heap image
/// section: the same function iSCSI, ext4 and RocksDB use, with the check value
/// `CRC32C("123456789") == 0xE3069283`.
///
/// Slicing-by-8 in portable Swift (eight 256-entry tables, eight bytes a step): about 1 GB/s in a
/// release build, well above what the disk takes, so the hardware `crc32` instruction is not worth an
/// unsafe intrinsic here.
public enum CRC32C {
    /// Eight 256-entry tables end to end: entry `256·k + b` is the CRC of byte `b` followed by `k`
    /// zero bytes (the three-stream form, `CRC32C+Streams.swift`, steps through the same tables).
    static let table: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 8 * 256)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            table[byte] = crc
        }
        for k in 1..<8 {
            for byte in 0..<256 {
                let previous = table[256 * (k - 1) + byte]
                table[256 * k + byte] = (previous >> 8) ^ table[Int(previous & 0xFF)]
            }
        }
        return table
    }()

    /// The CRC of `bytes`, continuing from `crc` (the CRC of what came before, 0 at the start).
    public static func checksum<Bytes: Collection<UInt8>>(_ bytes: Bytes, continuing crc: UInt32 = 0) -> UInt32 {
        if let result = bytes.withContiguousStorageIfAvailable({ update(~crc, UnsafeRawBufferPointer($0)) }) {
            return ~result
        }
        return ~Array(bytes).withUnsafeBytes { update(~crc, $0) }
    }

    // Unsafe pointers here only: the table and the input are read through them, every index masked
    // to the table or bounded by the input's count.
    private static func update(_ start: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = start
        var index = 0
        let count = bytes.count
        guard let base = bytes.baseAddress else { return crc }
        table.withUnsafeBufferPointer { table in
            let t = table.baseAddress!
            while count - index >= 8 {
                let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                let low = crc ^ UInt32(truncatingIfNeeded: word)
                let high = UInt32(truncatingIfNeeded: word >> 32)
                crc =
                    t[1792 + Int(low & 0xFF)] ^ t[1536 + Int(low >> 8 & 0xFF)] ^ t[1280 + Int(low >> 16 & 0xFF)]
                    ^ t[1024 + Int(low >> 24)] ^ t[768 + Int(high & 0xFF)] ^ t[512 + Int(high >> 8 & 0xFF)]
                    ^ t[256 + Int(high >> 16 & 0xFF)] ^ t[Int(high >> 24)]
                index += 8
            }
            while index < count {
                crc = (crc >> 8) ^ t[Int((crc ^ UInt32(base.load(fromByteOffset: index, as: UInt8.self))) & 0xFF)]
                index += 1
            }
        }
        return crc
    }
}
