/// Upper bounds the decoders enforce on untrusted input.
///
/// Every size a peer announces is checked against these limits *before* memory is committed to it, so a
/// misbehaving or hostile client cannot make the daemon buffer unbounded data by lying about lengths or by
/// never sending a newline.
public struct ProtocolLimits: Sendable, Equatable {
    /// Longest inline request line accepted, in bytes, not counting the terminating `\n` (or `\r\n`).
    public var maxLineLength: Int
    /// Most arguments a single request may carry, for both inline and multibulk requests.
    public var maxArguments: Int
    /// Longest single multibulk argument accepted, in bytes.
    public var maxBulkLength: Int

    /// Creates limits; the defaults mirror Redis (64 KiB inline lines, 512 MiB bulk strings).
    public init(maxLineLength: Int = 65536, maxArguments: Int = 1024, maxBulkLength: Int = 536_870_912) {
        self.maxLineLength = maxLineLength
        self.maxArguments = maxArguments
        self.maxBulkLength = maxBulkLength
    }

    /// The limits used when none are given explicitly.
    public static let `default` = ProtocolLimits()
}
