/// Incremental parser for the signed decimal number and `\r\n` that end RESP header lines
/// (`*3\r\n`, `$5\r\n`, `:-7\r\n`), fed one byte at a time.
///
/// Byte-at-a-time feeding lets the request decoder absorb a header split across any number of reads without
/// buffering it. The grammar is as strict as Redis's `string2ll`: an optional `-`, then digits without
/// leading zeros (`0` itself is fine, `-0` and `007` are not), within `Int64`. Strictness keeps header lines
/// a few bytes long, so no separate length limit is needed for them.
struct DecimalLineParser: Sendable {
    /// What the parser knows after a byte.
    enum Outcome: Equatable {
        /// The line is valid so far but not finished.
        case needMore
        /// The line ended with `\r\n` and held this value.
        case complete(Int64)
        /// The line can no longer become valid.
        case invalid
    }

    private var magnitude: UInt64 = 0
    private var digitCount = 0
    private var isNegative = false
    private var sawCarriageReturn = false

    /// Consumes one byte of the line.
    mutating func feed(_ byte: UInt8) -> Outcome {
        if sawCarriageReturn {
            return byte == ASCII.newline ? finish() : .invalid
        }
        switch byte {
        case ASCII.carriageReturn:
            guard digitCount > 0 else {
                return .invalid
            }
            sawCarriageReturn = true
            return .needMore
        case ASCII.minus:
            guard digitCount == 0, !isNegative else {
                return .invalid
            }
            isNegative = true
            return .needMore
        case ASCII.zero...ASCII.nine:
            return appendDigit(byte - ASCII.zero)
        default:
            return .invalid
        }
    }

    private mutating func appendDigit(_ digit: UInt8) -> Outcome {
        let leadingZero = digitCount > 0 && magnitude == 0
        let negativeZero = digitCount == 0 && digit == 0 && isNegative
        if leadingZero || negativeZero {
            return .invalid
        }
        let (shifted, overflowA) = magnitude.multipliedReportingOverflow(by: 10)
        let (next, overflowB) = shifted.addingReportingOverflow(UInt64(digit))
        let bound = isNegative ? UInt64(Int64.max) + 1 : UInt64(Int64.max)
        guard !overflowA, !overflowB, next <= bound else {
            return .invalid
        }
        magnitude = next
        digitCount += 1
        return .needMore
    }

    private func finish() -> Outcome {
        guard isNegative else {
            return .complete(Int64(magnitude))
        }
        return .complete(magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude))
    }
}
