/// Where one argument of a request framed in place lies: `count` bytes from `start`, an offset into the
/// bytes given to ``RequestDecoder/frame(_:into:)``.
///
/// A request framed so is a list of spans over the caller's own buffer instead of a copy of each argument
/// (issue 11 item 4): the server keeps the buffer while the request runs, and the command reads its name
/// and arguments where they arrived.
public struct ArgumentSpan: Sendable, Equatable {
    /// The offset of the argument's first byte.
    public var start: Int
    /// The argument's length in bytes.
    public var count: Int

    public init(start: Int, count: Int) {
        self.start = start
        self.count = count
    }
}
