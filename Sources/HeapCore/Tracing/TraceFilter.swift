/// `tracemalloc.Filter`: keeps or drops traces by the file name pattern (fnmatch) and line of a frame.
public struct TraceFilter: Sendable, Equatable {
    public var inclusive: Bool
    public var filenamePattern: String
    /// Only this line, when set.
    public var lineno: Int?
    /// Match any frame of the traceback instead of the most recent one.
    public var allFrames: Bool

    public init(inclusive: Bool, filenamePattern: String, lineno: Int? = nil, allFrames: Bool = false) {
        self.inclusive = inclusive
        self.filenamePattern = filenamePattern
        self.lineno = lineno
        self.allFrames = allFrames
    }

    func matchesFrame(_ frame: TraceFrame) -> Bool {
        guard Glob.matches(frame.filename, pattern: filenamePattern) else { return false }
        return lineno.map { $0 == frame.lineno } ?? true
    }

    /// Python's `Filter._match_traceback`: true when the trace is kept by this filter alone.
    func matches(_ traceback: Traceback) -> Bool {
        if allFrames {
            return traceback.frames.contains(where: matchesFrame) ? inclusive : !inclusive
        }
        return matchesFrame(traceback.frames[0]) != !inclusive
    }
}

/// Shell-style patterns as Python's `fnmatch` reads them on Linux (case-sensitive): `*`, `?`,
/// `[seq]` and `[!seq]` with ranges; a `[` without its `]` is an ordinary character.
enum Glob {
    static func matches(_ text: String, pattern: String) -> Bool {
        matches(Array(text.unicodeScalars)[...], Array(pattern.unicodeScalars)[...])
    }

    private static func matches(_ text: ArraySlice<Unicode.Scalar>, _ pattern: ArraySlice<Unicode.Scalar>) -> Bool {
        var t = text.startIndex
        var p = pattern.startIndex
        // The last `*` seen and the text position it was tried at: backtracking point.
        var star: (pattern: Int, text: Int)?
        while t < text.endIndex {
            if p < pattern.endIndex {
                let c = pattern[p]
                if c == "*" {
                    star = (p, t)
                    p += 1
                    continue
                }
                if c == "?" {
                    p += 1
                    t += 1
                    continue
                }
                if c == "[", let (matched, next) = matchClass(text[t], pattern, from: p) {
                    if matched {
                        p = next
                        t += 1
                        continue
                    }
                } else if c == text[t] {
                    p += 1
                    t += 1
                    continue
                }
            }
            guard let retry = star else { return false }
            star = (retry.pattern, retry.text + 1)
            p = retry.pattern + 1
            t = retry.text + 1
        }
        while p < pattern.endIndex && pattern[p] == "*" { p += 1 }
        return p == pattern.endIndex
    }

    /// Matches one character against the class starting at `start` (`[`); nil when the class is not
    /// closed (then `[` is literal), else whether it matched and the index after `]`.
    private static func matchClass(_ character: Unicode.Scalar, _ pattern: ArraySlice<Unicode.Scalar>, from start: Int)
        -> (Bool, Int)?
    {
        var i = start + 1
        var negate = false
        if i < pattern.endIndex && pattern[i] == "!" {
            negate = true
            i += 1
        }
        var matched = false
        var first = true
        while i < pattern.endIndex {
            let c = pattern[i]
            if c == "]" && !first { return (matched != negate, i + 1) }
            first = false
            if i + 2 < pattern.endIndex && pattern[i + 1] == "-" && pattern[i + 2] != "]" {
                if c <= character && character <= pattern[i + 2] { matched = true }
                i += 3
            } else {
                if c == character { matched = true }
                i += 1
            }
        }
        return nil
    }
}
