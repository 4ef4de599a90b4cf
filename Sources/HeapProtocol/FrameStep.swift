/// The outcome of one ``RequestDecoder/frame(_:into:)`` call: a request framed in place, or what
/// ``RequestDecoder/decode(_:)`` made of the bytes when they did not frame.
public enum FrameStep: Sendable, Equatable {
    /// A complete request lies in the first `consumed` bytes; its `arguments` spans (the command name
    /// first) were appended to the caller's list.
    case framed(arguments: Int, consumed: Int)
    /// The bytes were decoded as ``RequestDecoder/decode(_:)`` does (a request split across reads, an
    /// inline line with quotes, an error, a blank line, partial input).
    case decoded(DecodeStep)
}
