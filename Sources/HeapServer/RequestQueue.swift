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

    /// What ``decodeNext(from:with:)`` did; each case says how many bytes of the buffer it consumed.
    enum Progress {
        case queued(consumed: Int)
        case needMoreData(consumed: Int)
        case failure(ProtocolError, consumed: Int)
    }

    /// Frames or decodes the next request at the front of `buffer` (whose reader index it does not move)
    /// with `decoder`, and queues it if there is one. Within a batch, `buffer` must be the same buffer
    /// with its reader index moved on by what was consumed: the spans are kept from its reader index
    /// when the batch began.
    mutating func decodeNext(from buffer: ByteBuffer, with decoder: inout RequestDecoder) -> Progress {
        prepareToAppend()
        let words = self.words
        let first = words.spans.count
        let step = buffer.withUnsafeReadableBytes { decoder.frame($0, into: &words.spans) }
        switch step {
        case .framed(let count, let consumed):
            if words.input == nil { words.input = buffer }
            // The spans are offsets from where this read began; the batch keeps them from where it began.
            let shift = buffer.readerIndex - words.input!.readerIndex
            if shift != 0 {
                for index in first..<first + count { words.spans[index].start += shift }
            }
            items.append(Item(first: first, count: count, copied: false))
            return .queued(consumed: consumed)
        case .decoded(.request(let request, let consumed)):
            append(request)
            decoder.recycle(request)
            return .queued(consumed: consumed)
        case .decoded(.needMoreData(let consumed)):
            return .needMoreData(consumed: consumed)
        case .decoded(.failure(let error, let consumed)):
            return .failure(error, consumed: consumed)
        }
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
