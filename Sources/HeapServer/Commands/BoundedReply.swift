import HeapCore
import HeapProtocol

/// Replies that grow with what a client made (listings, views, reprs) are built against `max-reply`
/// (``ConnectionLimits/maxReply``) as they grow, so none is built past the size it could be sent at:
/// past it, the command answers `-LIMIT` and says how to ask for less. ``ConnectionHandler`` checks
/// every reply's size as well; these helpers stop the building itself early.
struct BoundedArray {
    let limit: Int
    private(set) var elements: [Reply] = []
    /// Wire size of the array so far (its header counted generously).
    private var size = 24

    init(limit: Int) {
        self.limit = limit
    }

    /// Appends an element, or throws `LIMIT` when the array would pass the limit; `hint` says how to
    /// ask for less.
    mutating func append(_ element: Reply, hint: String) throws(CommandError) {
        size += element.encodedSize
        guard size <= limit else {
            throw .limit("reply would exceed max-reply (\(limit) bytes) after \(elements.count) items; \(hint)")
        }
        elements.append(element)
    }

    var reply: Reply { .array(elements) }
}

extension Session {
    /// The largest reply this session may be sent.
    var maxReply: Int { state.configuration.connectionLimits.maxReply }

    /// `repr(x)` for a reply that is nothing but it (`REPR`): `-LIMIT` when it would pass `max-reply`.
    func reprReply(_ ref: ObjectRef, maxDepth: Int) throws(CommandError) -> Reply {
        guard let text = heap.repr(ref, maxDepth: maxDepth, maxBytes: maxReply - 32) else {
            throw .limit(
                "repr of this \(heap.typeName(of: ref)) would exceed max-reply (\(maxReply) bytes); ask for less (REPR x 1, LEN, GETITEM)"
            )
        }
        return .bulk(text)
    }

    /// `repr(x)` shown beside a result (`GETITEM`, `NEXT`, `VARS`): the command did its work, so a repr
    /// too long for `limit` bytes is replaced by a short note instead of failing it.
    func reprText(_ ref: ObjectRef, maxDepth: Int, maxItems: Int = 100, limit: Int? = nil) -> String {
        let limit = limit ?? maxReply - 32
        return heap.repr(ref, maxDepth: maxDepth, maxItems: maxItems, maxBytes: limit)
            ?? "<\(heap.typeName(of: ref)) object at \(heap.id(of: ref)): repr longer than \(limit) bytes>"
    }
}
