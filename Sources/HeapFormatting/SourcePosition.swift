/// A source position in its textual form `file:line`: what `AT` takes, what a traceback frame prints and
/// what `TRACEMALLOC … RAW` replies hold.
public struct SourcePosition: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    /// Reads `file:line`: the file is everything before the last colon (not empty), the line a number
    /// from 0.
    public init?(parsing text: String) {
        guard let colon = text.lastIndex(of: ":"), colon != text.startIndex,
            let line = Int(text[text.index(after: colon)...]), line >= 0
        else { return nil }
        self.init(file: String(text[..<colon]), line: line)
    }

    /// `file:line`, as Python's `str(Frame)` prints it.
    public var description: String { "\(file):\(line)" }
}
