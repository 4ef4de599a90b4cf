import HeapProtocol
import HeapdTesting

/// What a server would observe while decoding a stream: requests and errors, in order.
enum DecodeEvent: Equatable, CustomStringConvertible {
    case request(Request)
    case failure(ProtocolError)

    /// A request event built from UTF-8 strings, to keep expectations short.
    static func request(_ strings: String...) -> DecodeEvent {
        .request(Request(strings))
    }

    var description: String {
        switch self {
        case .request(let request):
            "request(\(request.arguments.map { String(decoding: $0, as: UTF8.self) }))"
        case .failure(let error):
            "failure(\(error))"
        }
    }
}

/// Drives a `RequestDecoder` exactly as a server does: append each chunk to a buffer, decode until
/// `.needMoreData`, drop consumed bytes, stop at the first connection-closing error.
///
/// Also checks the decoder's contract on every step (consumed within bounds, progress on every event), so
/// every test that uses it exercises those invariants too.
///
/// With `inPlace`, as the server does: `frame(_:into:)` first, a framed request copied out of the buffer
/// (its spans checked to lie within what it consumed).
func decodeEvents(_ chunks: [[UInt8]], limits: ProtocolLimits = .default, inPlace: Bool = false) -> [DecodeEvent] {
    var decoder = RequestDecoder(limits: limits)
    var buffer: [UInt8] = []
    var events: [DecodeEvent] = []
    var spans: [ArgumentSpan] = []
    for chunk in chunks {
        buffer += chunk
        while true {
            let step = buffer.withUnsafeBytes { bytes in
                inPlace ? frameStep(&decoder, bytes, &spans) : decoder.decode(bytes)
            }
            let consumed: Int
            switch step {
            case .needMoreData(let count):
                consumed = count
            case .request(let request, let count):
                precondition(count > 0, "a request must consume bytes")
                events.append(.request(request))
                consumed = count
            case .failure(let error, let count):
                precondition(count > 0, "a failure must consume bytes")
                events.append(.failure(error))
                consumed = count
                if error.closesConnection {
                    return events
                }
            }
            precondition(consumed >= 0 && consumed <= buffer.count, "consumed out of bounds")
            buffer.removeFirst(consumed)
            if case .needMoreData = step {
                break
            }
        }
    }
    return events
}

/// One `frame(_:into:)` step as a `DecodeStep`: a framed request copied out of `bytes`.
func frameStep(
    _ decoder: inout RequestDecoder, _ bytes: UnsafeRawBufferPointer, _ spans: inout [ArgumentSpan]
) -> DecodeStep {
    spans.removeAll()
    switch decoder.frame(bytes, into: &spans) {
    case .decoded(let step):
        precondition(spans.isEmpty, "a step that did not frame must leave no spans")
        return step
    case .framed(let count, let consumed):
        precondition(count == spans.count && count > 0, "a framed request has its spans")
        precondition(spans.allSatisfy { $0.start + $0.count <= consumed }, "spans within what was consumed")
        return .request(
            Request(arguments: spans.map { Array(bytes[$0.start..<$0.start + $0.count]) }), consumed: consumed)
    }
}

/// Decodes `input` delivered in one piece.
func decodeEvents(_ input: String, limits: ProtocolLimits = .default) -> [DecodeEvent] {
    decodeEvents([Array(input.utf8)], limits: limits)
}

/// Splits `bytes` at the given ascending offsets.
func split(_ bytes: [UInt8], at offsets: [Int]) -> [[UInt8]] {
    var chunks: [[UInt8]] = []
    var start = 0
    for offset in offsets {
        chunks.append(Array(bytes[start..<offset]))
        start = offset
    }
    chunks.append(Array(bytes[start...]))
    return chunks
}

/// Splits `bytes` into chunks of random sizes between 1 and `maxChunk`.
func randomChunks(_ bytes: [UInt8], maxChunk: Int, using generator: inout SeededGenerator) -> [[UInt8]] {
    var chunks: [[UInt8]] = []
    var start = 0
    while start < bytes.count {
        let size = Int.random(in: 1...maxChunk, using: &generator)
        let end = min(bytes.count, start + size)
        chunks.append(Array(bytes[start..<end]))
        start = end
    }
    return chunks
}
