// libFuzzer target for the request decoder (Sources/HeapProtocol/RequestDecoder.swift), inline and RESP.
//
// Input layout:
//
//     byte 0   how the stream is cut into reads: low 3 bits pick a pattern (whole, one byte at a time,
//              or random sizes up to 2, 3, 5, 16, 64 or 257 bytes), the high 5 bits seed the sizes
//     byte 1   the limits: high bit clear = the defaults; set = tiny limits picked by the other bits, so
//              the line, argument and bulk limits are reachable in a few bytes
//     rest     the bytes a client sends
//
// What must hold (the decoder's documented contract), else the target traps:
// - no crash, no trap, every step consumes at most what it was given, and a request or a failure
//   consumes at least one byte (a caller looping on the decoder always makes progress);
// - `.needMoreData` consumes everything it was given (the caller's buffer never holds more than a read);
// - the same requests and errors come out whatever the chunking (compared with the whole-input run), and
//   whether requests are framed in place (`frame(_:into:)`, the server's path) or decoded (`decode(_:)`);
// - after an error that closes the connection the decoder is sticky: it reports that error again for
//   any further input and consumes all of it; after any other error it carries on with the next line;
// - a request is never empty and respects the limits it was decoded under;
// - a decoded request, re-encoded as RESP (`Request.encoded`) or as a quoted inline line, decodes to the
//   same request, consuming exactly the encoding.
//
// A plain `swift build` compiles this file into an executable that does nothing; scripts/fuzz.sh builds
// it with libFuzzer (Fuzz/README.md).

import HeapProtocol

#if canImport(Glibc)
    import Glibc
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestDecoder(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size >= 2 else { return 0 }
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let limits = DecoderFuzzCase.limits(input[1])
    let stream = Array(input[2...])

    let expected = DecoderFuzzCase.decode([stream], limits: limits)
    let chunks = DecoderFuzzCase.chunks(of: stream, pattern: input[0])
    let chunked = DecoderFuzzCase.decode(chunks, limits: limits)
    check(
        chunked == expected,
        "the chunking changed what was decoded: whole input gave \(expected), \(chunks.map(\.count)) gave \(chunked)")
    for (form, framed) in [
        ("whole", DecoderFuzzCase.decode([stream], limits: limits, inPlace: true)),
        ("\(chunks.map(\.count))", DecoderFuzzCase.decode(chunks, limits: limits, inPlace: true)),
    ] {
        check(
            framed == expected, "framing in place changed what was decoded: \(expected), framed \(form) gave \(framed)")
    }

    for case .request(let request) in expected {
        DecoderFuzzCase.checkRoundTrip(request, limits: limits)
    }
    return 0
}

/// One decoded event, in order.
enum DecodeEvent: Equatable, CustomStringConvertible {
    case request(Request)
    case failure(ProtocolError)

    var description: String {
        switch self {
        case .request(let request): "request(\(request.arguments.map { String(decoding: $0, as: UTF8.self) }))"
        case .failure(let error): "failure(\(error))"
        }
    }
}

enum DecoderFuzzCase {
    /// The limits byte 1 selects: the defaults, or tiny ones so every limit is a few bytes away.
    static func limits(_ byte: UInt8) -> ProtocolLimits {
        guard byte & 0x80 != 0 else { return .default }
        let lines = [1, 2, 3, 4, 6, 8, 16, 64]
        let arguments = [1, 2, 3, 8]
        let bulks = [0, 1, 5, 64]
        return ProtocolLimits(
            maxLineLength: lines[Int(byte & 7)], maxArguments: arguments[Int(byte >> 3 & 3)],
            maxBulkLength: bulks[Int(byte >> 5 & 3)])
    }

    /// Cuts `stream` into the reads that pattern byte describes.
    static func chunks(of stream: [UInt8], pattern: UInt8) -> [[UInt8]] {
        let maxima = [0, 1, 2, 3, 5, 16, 64, 257]
        let maximum = maxima[Int(pattern & 7)]
        guard maximum > 0 else { return [stream] }
        // xorshift64*, seeded by the high bits: any sequence of sizes is reachable from some seed.
        var state = UInt64(pattern >> 3) &* 0x9E37_79B9_7F4A_7C15 | 1
        var chunks: [[UInt8]] = []
        var start = 0
        while start < stream.count {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            let size = 1 + Int((state &* 0x2545_F491_4F6C_DD1D) >> 33) % maximum
            let end = min(stream.count, start + size)
            chunks.append(Array(stream[start..<end]))
            start = end
        }
        return chunks
    }

    /// Feeds `chunks` to one decoder the way the connection handler does (unconsumed bytes stay in the
    /// caller's buffer, the next read is appended) and returns what it decoded.
    static func decode(_ chunks: [[UInt8]], limits: ProtocolLimits, inPlace: Bool = false) -> [DecodeEvent] {
        var decoder = RequestDecoder(limits: limits)
        var events: [DecodeEvent] = []
        var pending: [UInt8] = []
        var spans: [ArgumentSpan] = []
        for chunk in chunks {
            pending += chunk
            while !pending.isEmpty {
                let step = pending.withUnsafeBytes { bytes in
                    inPlace ? framedStep(&decoder, bytes, &spans) : decoder.decode(bytes)
                }
                switch step {
                case .needMoreData(let consumed):
                    check(consumed == pending.count, "needMoreData consumed \(consumed) of \(pending.count) bytes")
                    pending.removeAll()
                case .request(let request, let consumed):
                    checkProgress(consumed, of: pending.count, "a request")
                    checkWithinLimits(request, limits: limits)
                    events.append(.request(request))
                    pending.removeFirst(consumed)
                case .failure(let error, let consumed):
                    checkProgress(consumed, of: pending.count, "a failure")
                    events.append(.failure(error))
                    guard error.closesConnection else {
                        pending.removeFirst(consumed)
                        continue
                    }
                    check(consumed == pending.count, "a closing failure consumed \(consumed) of \(pending.count)")
                    checkSticky(&decoder, error)
                    return events
                }
            }
        }
        return events
    }

    static func checkProgress(_ consumed: Int, of available: Int, _ what: String) {
        check(consumed > 0 && consumed <= available, "\(what) consumed \(consumed) of \(available) bytes")
    }

    static func checkWithinLimits(_ request: Request, limits: ProtocolLimits) {
        check(!request.isEmpty, "an empty request was decoded")
        check(request.count <= limits.maxArguments, "\(request.count) arguments over the limit \(limits.maxArguments)")
        let longest = request.arguments.map(\.count).max() ?? 0
        check(
            longest <= max(limits.maxBulkLength, limits.maxLineLength),
            "an argument of \(longest) bytes passed the limits \(limits)")
    }

    /// After a closing failure, any further input is answered with the same failure and swallowed whole.
    static func checkSticky(_ decoder: inout RequestDecoder, _ error: ProtocolError) {
        for probe in ["PING\r\n", "*1\r\n$4\r\nPING\r\n", "\n", "*"] {
            let bytes = Array(probe.utf8)
            let step = bytes.withUnsafeBytes { decoder.decode($0) }
            check(
                step == .failure(error, consumed: bytes.count),
                "the decoder was not sticky after \(error): \(probe.debugDescription) gave \(step)")
        }
    }

    /// A request re-encoded as RESP, and as a quoted inline line when it fits, decodes to itself.
    static func checkRoundTrip(_ request: Request, limits: ProtocolLimits) {
        // An inline argument may be longer than the bulk limit: RESP gets room for it.
        let longest = request.arguments.map(\.count).max() ?? 0
        var respLimits = limits
        respLimits.maxBulkLength = max(limits.maxBulkLength, longest)
        let resp = request.encoded
        check(decodeOne(resp, limits: respLimits) == request, "RESP re-encoding of \(request) did not round-trip")
        // Every argument double-quoted, so a leading `*` or a blank cannot change the framing.
        var line: [UInt8] = []
        for argument in request.arguments {
            if !line.isEmpty { line.append(UInt8(ascii: " ")) }
            appendQuoted(argument, to: &line)
        }
        guard line.count <= limits.maxLineLength else { return }
        line += Array("\r\n".utf8)
        check(decodeOne(line, limits: limits) == request, "inline re-encoding of \(request) did not round-trip")
    }

    /// Decodes `bytes` with a fresh decoder; the result must be exactly one request consuming all of them.
    /// One step of `frame(_:into:)`, a framed request copied out of `bytes` so that it compares with
    /// what `decode(_:)` gives; its spans must lie within what it consumed.
    static func framedStep(
        _ decoder: inout RequestDecoder, _ bytes: UnsafeRawBufferPointer, _ spans: inout [ArgumentSpan]
    ) -> DecodeStep {
        spans.removeAll(keepingCapacity: true)
        switch decoder.frame(bytes, into: &spans) {
        case .decoded(let step):
            check(spans.isEmpty, "a step that did not frame left \(spans.count) spans")
            return step
        case .framed(let count, let consumed):
            check(count == spans.count && count > 0, "framed \(count) arguments but appended \(spans.count) spans")
            for span in spans {
                check(
                    span.start >= 0 && span.count >= 0 && span.start + span.count <= consumed,
                    "span \(span) past \(consumed)")
            }
            let arguments = spans.map { Array(bytes[$0.start..<$0.start + $0.count]) }
            return .request(Request(arguments: arguments), consumed: consumed)
        }
    }

    static func decodeOne(_ bytes: [UInt8], limits: ProtocolLimits) -> Request? {
        var decoder = RequestDecoder(limits: limits)
        let step = bytes.withUnsafeBytes { decoder.decode($0) }
        guard case .request(let request, let consumed) = step, consumed == bytes.count else { return nil }
        return request
    }

    /// `"…"` with the escapes InlineTokenizer accepts: `\"`, `\\`, and `\xHH` for anything unprintable.
    static func appendQuoted(_ argument: [UInt8], to line: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        line.append(UInt8(ascii: "\""))
        for byte in argument {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                line += [UInt8(ascii: "\\"), byte]
            case 0x20..<0x7F:
                line.append(byte)
            default:
                line += [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            }
        }
        line.append(UInt8(ascii: "\""))
    }
}

/// Traps with `message` (libFuzzer records the input as a crash) when `condition` fails.
func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    guard !condition() else { return }
    printError("FuzzRequestDecoder: invariant broken: \(message())\n")
    abort()
}

/// Writes `text` to standard error unbuffered (the `stderr` global is not concurrency-safe in Swift 6).
func printError(_ text: String) {
    var bytes = Array(text.utf8)
    _ = write(2, &bytes, bytes.count)
}
