#if canImport(Glibc)
    import Glibc
#endif

/// Python's `tracemalloc._format_size`: three significant digits with a binary unit.
public func formatSize(_ bytes: Double, sign: Bool) -> String {
    var size = bytes
    for unit in ["B", "KiB", "MiB", "GiB", "TiB"] {
        if abs(size) < 100 && unit != "B" {
            return "\(formatFixed(size, digits: 1, sign: sign)) \(unit)"
        }
        if abs(size) < 10 * 1024 || unit == "TiB" {
            return "\(formatFixed(size, digits: 0, sign: sign)) \(unit)"
        }
        size /= 1024
    }
    return ""
}

/// `"%.Nf"` / `"%+.Nf"` through C's formatter, which Python's `%` also uses, so halfway cases
/// round on the binary value exactly as Python's do.
func formatFixed(_ value: Double, digits: Int, sign: Bool) -> String {
    let format = "%" + (sign ? "+" : "") + ".\(digits)f"
    var buffer = [UInt8](repeating: 0, count: 64)
    let length = buffer.withUnsafeMutableBufferPointer { out in
        out.withMemoryRebound(to: CChar.self) { chars in
            withVaList([value]) { vsnprintf(chars.baseAddress, chars.count, format, $0) }
        }
    }
    return String(decoding: buffer.prefix(Int(max(0, min(length, 63)))), as: UTF8.self)
}
