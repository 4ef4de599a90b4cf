/// Small writers shared by request and reply encoding, so both produce byte-identical framing.
extension Array where Element == UInt8 {
    /// Appends the wire line terminator.
    mutating func appendCRLF() {
        append(ASCII.carriageReturn)
        append(ASCII.newline)
    }

    /// Appends `value` in decimal without going through `String`, keeping encoding allocation-free.
    mutating func appendDecimal(_ value: Int64) {
        if value < 0 {
            append(ASCII.minus)
        }
        // The magnitude is unsigned, so even `Int64.min` converts without overflow.
        var remaining = value.magnitude
        let start = count
        repeat {
            append(ASCII.zero + UInt8(remaining % 10))
            remaining /= 10
        } while remaining != 0
        self[start...].reverse()
    }

    /// Appends a non-negative count or length in decimal.
    mutating func appendDecimal(_ value: Int) {
        appendDecimal(Int64(value))
    }
}
