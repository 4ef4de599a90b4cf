/// The outcome of one `RequestDecoder.decode(_:)` call.
///
/// Every case reports how many leading bytes were consumed so the caller can drop them from its buffer;
/// the decoder never needs to see consumed bytes again.
public enum DecodeStep: Sendable, Equatable {
    /// No complete request is available yet. Consumed bytes (partial input the decoder has absorbed into its
    /// own state, skipped blank lines, or discarded remainder of an over-long line) must still be dropped.
    case needMoreData(consumed: Int)
    /// A complete request was decoded from the first `consumed` bytes.
    case request(Request, consumed: Int)
    /// The input was invalid. Report the error to the peer; if `closesConnection` is true, close afterwards.
    case failure(ProtocolError, consumed: Int)
}
