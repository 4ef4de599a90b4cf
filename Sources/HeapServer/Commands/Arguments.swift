import HeapProtocol
import NIOCore

/// The words of one request, or the arguments after its command name, where they arrived: a view, not
/// a copy (issue 11 item 4).
///
/// The bytes are the connection's input buffer (a request framed in place, the common case) or the
/// copies of the requests the decoder had to copy (split across reads, a quoted inline line), both held
/// by a ``RequestWords``; a view keeps that alive, so a handler may keep its arguments as long as it
/// likes, and reads them through plain pointers: one retain per request, no dynamic exclusivity check
/// per argument, no copy of a byte.
///
/// Why the pointers stay valid (this file and ``RequestWords`` are the only unsafe code of the request
/// path): `base` points into storage that `words` keeps alive, the input's `ByteBuffer` storage or the
/// copies' array, and `spans` into `words`' span list; ``RequestQueue`` changes a ``RequestWords`` only
/// while it is the only owner, and a `ByteBuffer` copies its storage before a write when it is shared.
/// So nothing a view points to moves or changes while the view exists.
struct Arguments {
    /// What keeps `base` and `spans` alive.
    private let words: RequestWords
    private let base: UnsafeRawPointer
    private var spans: UnsafeBufferPointer<ArgumentSpan>

    /// The words `spans` of `words` locates from `base`. Only ``RequestWords`` makes views.
    fileprivate init(_ words: RequestWords, base: UnsafeRawPointer, spans: UnsafeBufferPointer<ArgumentSpan>) {
        self.words = words
        self.base = base
        self.spans = spans
    }

    /// The words of a decoded request (tests, the fuzz harness): copied once into storage of their own.
    init(_ words: some Collection<[UInt8]>) {
        let store = RequestWords()
        store.appendCopy(of: words)
        self = store.view(first: 0, count: words.count, copied: true)
    }

    var count: Int { spans.count }

    /// The bytes of word `index` (from 0), where they are; valid while this view is.
    @inline(__always)
    func bytes(_ index: Int) -> UnsafeRawBufferPointer {
        let span = spans[index]
        return UnsafeRawBufferPointer(start: base + span.start, count: span.count)
    }

    /// Calls `body` with the bytes of word `index` (from 0), keeping this view alive meanwhile.
    @inline(__always)
    func withBytes<Result>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try withExtendedLifetime(words) { try body(bytes(index)) }
    }

    /// Argument `index` (from 0) as a string; short ones (15 bytes or less) need no allocation.
    subscript(_ index: Int) -> String { withBytes(index) { String(decoding: $0, as: UTF8.self) } }

    /// The arguments' bytes, indexed from 0 (binary-safe values: `NEW x bytes …`, `ECHO`).
    var raw: Raw { Raw(arguments: self) }

    /// Every argument as a string, for commands that take a list of names.
    var strings: [String] { (0..<count).map { self[$0] } }

    /// Drops the first `k` words (fewer if there are fewer): the command's name from a request's words.
    mutating func removeFirst(_ k: Int) {
        spans = UnsafeBufferPointer(rebasing: spans[min(k, spans.count)...])
    }

    /// These words without the first `k`.
    func dropFirst(_ k: Int = 1) -> Arguments {
        Arguments(words, base: base, spans: UnsafeBufferPointer(rebasing: spans[min(k, spans.count)...]))
    }

    /// These words without the last.
    func dropLast() -> Arguments {
        Arguments(words, base: base, spans: UnsafeBufferPointer(rebasing: spans[..<max(spans.count - 1, 0)]))
    }

    func integer(_ index: Int, what: String = "value") throws(CommandError) -> Int64 {
        let text = self[index]
        guard let value = Int64(text) else {
            throw .syntax("\(what) '\(text)' is not an integer")
        }
        return value
    }

    /// ``Arguments/raw``: the bytes of each argument, indexed from 0.
    struct Raw {
        let arguments: Arguments
        subscript(_ index: Int) -> [UInt8] { arguments.withBytes(index) { Array($0) } }
    }
}

/// The bytes and word spans of a batch of requests, which the views of their words (``Arguments``)
/// keep alive: the input buffer the framed requests lie in, the bytes of the requests the decoder
/// copied, and the spans of every word (offsets into one or the other).
///
/// ``RequestQueue`` fills one per batch and reuses it for the next while no view of it is left (it
/// is then uniquely referenced); a view a command kept makes the queue start a new one instead.
final class RequestWords {
    // Read and written per request on the connection's event loop only, and never passed `inout`
    // across a call that touches them again: dynamic exclusivity checks would be pure cost here.
    /// The input the framed requests lie in, from its reader index when the batch began.
    @exclusivity(unchecked) var input: ByteBuffer? {
        didSet { inputBase = nil }
    }
    /// The address of ``input``'s first readable byte, taken once per batch (each access to a buffer's
    /// bytes checks exclusivity dynamically): valid while `input` holds its storage, and forgotten
    /// whenever `input` changes.
    @exclusivity(unchecked) var inputBase: UnsafeRawPointer?
    /// The words of the requests the decoder copied, one after the other.
    @exclusivity(unchecked) var copies: [UInt8] = []
    /// The words of every request of the batch, in order; a request's are consecutive.
    @exclusivity(unchecked) var spans: [ArgumentSpan] = []

    /// Appends the spans of `words`, copied to the end of ``copies``.
    func appendCopy(of words: some Collection<[UInt8]>) {
        for word in words {
            spans.append(ArgumentSpan(start: copies.count, count: word.count))
            copies.append(contentsOf: word)
        }
    }

    /// A view of the `count` words from span `first`, in ``copies`` or in ``input``. The spans and the
    /// bytes must not change while it exists (see ``Arguments``).
    @inline(__always)
    func view(first: Int, count: Int, copied: Bool) -> Arguments {
        let base: UnsafeRawPointer
        if copied {
            // An array's storage outlives the call as long as the array is neither changed nor freed,
            // which this object and its owner guarantee; an empty one has no storage to point to.
            base = copies.withUnsafeBytes { $0.baseAddress } ?? UnsafeRawPointer(bitPattern: 1)!
        } else {
            // Likewise a `ByteBuffer`'s storage, shared with the connection's `pending` buffer, which
            // copies it before it writes.
            base = inputBase!
        }
        let all = spans.withUnsafeBufferPointer { $0 }
        return Arguments(self, base: base, spans: UnsafeBufferPointer(rebasing: all[first..<first + count]))
    }
}
