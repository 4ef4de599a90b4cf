import HeapProtocol

/// The requests decoded from a client's input and not yet executed, read from the front.
///
/// One array, reused from batch to batch (a `[Request]` per batch, sliced, was an allocation per batch
/// and kept every request's arrays shared with the slice). A request taken out leaves an empty one in
/// its place, so the taker holds the only reference to its arrays and the decoder can take them back
/// for the next requests (``RequestDecoder/recycle(_:)``) without a copy.
struct RequestQueue {
    private var items: [Request] = []
    private var head = 0

    var isEmpty: Bool { head == items.count }

    mutating func append(_ request: Request) {
        items.append(request)
    }

    /// The request at the front; the queue must not be empty.
    mutating func take() -> Request {
        let request = items[head]
        items[head] = Request(arguments: [])
        head += 1
        if head == items.count { removeAll() }
        return request
    }

    /// Drops every request, keeping the array's capacity.
    mutating func removeAll() {
        items.removeAll(keepingCapacity: true)
        head = 0
    }
}
