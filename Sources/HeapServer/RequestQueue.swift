import HeapProtocol
import NIOCore

/// The requests decoded from a client's input and not yet executed, read from the front.
///
/// A request is its words' spans in the batch's ``RequestWords``: most are framed in place
/// (``RequestDecoder/frame(_:into:)``) and point into the input buffer as it was when the batch was
/// decoded (a reference to the same storage, not a copy); the few the decoder copies (split across
/// reads, quoted inline lines) are copied once more, to the end of the batch's own bytes, and their
/// arrays go straight back to the decoder (``RequestDecoder/recycle(_:)``).
///
/// Nothing is emptied when the last request is taken, since the views handed out may still be in
/// use: the next batch empties the words if they are no longer shared (and starts new ones if a
/// command kept a view), and ``reset()`` drops the reference to the input once the batch is done,
/// so that the connection's buffer is again its only owner and keeps its memory.
struct RequestQueue {
    private struct Item {
        /// `count` words from span `first`.
        var first: Int
        var count: Int
        /// In the words' copies, not in the input.
        var copied: Bool
    }

    private var items: [Item] = []
    private var head = 0
    private var words = RequestWords()
    /// The most bytes of copied requests kept from one batch to the next.
    static let retainedCopyCapacity = 8192

    var isEmpty: Bool { head == items.count }

    /// Frames or decodes up to `limit` requests from `buffer` with `decoder`, queues them and moves the
    /// buffer's reader index past what was consumed; stops at a framing error and returns it. Within a
    /// batch (the queue not emptied), `buffer` must be the same buffer with its reader index moved on: the
    /// spans are kept from its reader index when the batch began.
    ///
    /// One pass over the buffer's bytes for the whole batch: each access to them checks exclusivity
    /// dynamically (NIO's storage is a class), which per request was about 0.4% of a PING's samples.
    mutating func decodeBatch(
        from buffer: inout ByteBuffer, with decoder: inout RequestDecoder, upTo limit: Int
    ) -> ProtocolError? {
        guard buffer.readableBytes > 0 else { return nil }
        prepareToAppend()
        let words = self.words
        if words.input == nil { words.input = buffer }
        // Where this read began, from where the batch began.
        let shift = buffer.readerIndex - words.input!.readerIndex
        var consumed = 0
        var failure: ProtocolError?
        buffer.withUnsafeReadableBytes { bytes in
            if words.inputBase == nil { words.inputBase = bytes.baseAddress! - shift }
            var count = 0
            decoding: while count < limit, consumed < bytes.count {
                let first = words.spans.count
                let rest = UnsafeRawBufferPointer(rebasing: bytes[consumed...])
                switch decoder.frame(rest, into: &words.spans) {
                case .framed(let arguments, let length):
                    let offset = shift + consumed
                    for index in first..<first + arguments { words.spans[index].start += offset }
                    items.append(Item(first: first, count: arguments, copied: false))
                    consumed += length
                    count += 1
                case .decoded(.request(let request, let length)):
                    // Split across reads or quoted: copied once more, to the batch's own bytes.
                    words.appendCopy(of: request.arguments)
                    items.append(Item(first: first, count: request.arguments.count, copied: true))
                    decoder.recycle(request)
                    consumed += length
                    count += 1
                case .decoded(.needMoreData(let length)):
                    consumed += length
                    break decoding
                case .decoded(.failure(let error, let length)):
                    consumed += length
                    failure = error
                    break decoding
                }
            }
        }
        buffer.moveReaderIndex(forwardBy: consumed)
        return failure
    }

    /// Queues a request decoded elsewhere, copying its words.
    mutating func append(_ request: Request) {
        prepareToAppend()
        let first = words.spans.count
        words.appendCopy(of: request.arguments)
        items.append(Item(first: first, count: request.arguments.count, copied: true))
    }

    /// The words of the request at the front; the queue must not be empty.
    mutating func take() -> Arguments {
        let item = items[head]
        head += 1
        return words.view(first: item.first, count: item.count, copied: item.copied)
    }

    /// Drops every request.
    mutating func removeAll() {
        items.removeAll(keepingCapacity: true)
        head = 0
        reset()
    }

    /// Once the queue is empty: drops its reference to the input buffer, if no view of it is left.
    mutating func reset() {
        guard isEmpty, isKnownUniquelyReferenced(&words), words.input != nil else { return }
        words.input = nil
    }

    /// Before the words change: a new batch starts afresh (the old one's lists emptied, or new ones if a
    /// view of them is still in use), and words a view still uses are never changed in place.
    private mutating func prepareToAppend() {
        if !isKnownUniquelyReferenced(&words) {
            // A command kept a view: leave these words to it.
            let fresh = RequestWords()
            if !isEmpty {
                // Mid-batch (not in the server's use, which decodes a batch before it runs any): the
                // requests still queued come along.
                fresh.input = words.input
                fresh.inputBase = words.inputBase
                fresh.copies = words.copies
                fresh.spans = words.spans
            }
            words = fresh
        }
        if isEmpty {
            items.removeAll(keepingCapacity: true)
            head = 0
            words.input = nil
            // Copies of a big request are not kept for the life of the connection.
            if words.copies.capacity > Self.retainedCopyCapacity {
                words.copies = []
            } else {
                words.copies.removeAll(keepingCapacity: true)
            }
            words.spans.removeAll(keepingCapacity: true)
        }
    }
}
