/// One frame of an allocation's traceback: a source position, as in Python's `tracemalloc.Frame`.
///
/// heapd's sources are the positions clients state (`AT file:line`) and the call sites of their
/// `SCOPE PUSH` frames; Python's are the interpreter's frames.
public struct TraceFrame: Hashable, Comparable, Sendable {
    public var filename: String
    public var lineno: Int

    public init(filename: String, lineno: Int) {
        self.filename = filename
        self.lineno = lineno
    }

    /// Reads `file:line`: the file is everything before the last colon (not empty), the line a number
    /// from 0. The form `AT` takes and statistics print.
    public init?(position: String) {
        guard let parsed = SourcePosition(parsing: position) else { return nil }
        self.init(filename: parsed.file, lineno: parsed.line)
    }

    /// Python compares `(filename, lineno)` tuples: by code point, then line.
    public static func < (lhs: TraceFrame, rhs: TraceFrame) -> Bool {
        if lhs.filename != rhs.filename {
            return lhs.filename.unicodeScalars.lexicographicallyPrecedes(rhs.filename.unicodeScalars)
        }
        return lhs.lineno < rhs.lineno
    }

    /// `file:line`, as `str(Frame)` prints it.
    public var description: String { "\(filename):\(lineno)" }
}

/// The frames of one allocation, most recent first (the order tracemalloc records them in).
///
/// Python's `Traceback` object reverses them (oldest first) for its API, its ordering and its
/// `str()` — which therefore names the *oldest* frame; ``description`` and `<` do the same here.
public struct Traceback: Hashable, Comparable, Sendable {
    /// Most recent first; never empty.
    public var frames: [TraceFrame]

    public init(frames: [TraceFrame]) {
        precondition(!frames.isEmpty, "a traceback has at least one frame")
        self.frames = frames
    }

    /// The frames oldest first, as Python's `Traceback` sequence gives them.
    public var oldestFirst: [TraceFrame] { frames.reversed() }

    /// `str(traceback)`: its oldest frame.
    public var description: String { frames[frames.count - 1].description }

    /// Python compares the oldest-first tuples of frames lexicographically.
    public static func < (lhs: Traceback, rhs: Traceback) -> Bool {
        lhs.oldestFirst.lexicographicallyPrecedes(rhs.oldestFirst)
    }
}
