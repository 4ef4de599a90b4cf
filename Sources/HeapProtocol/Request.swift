/// One decoded client command: the command name followed by its arguments, as raw bytes.
///
/// Arguments stay bytes rather than `String`s because the multibulk form is binary-safe: values stored in
/// the heap may be arbitrary binary data and must round-trip untouched.
public struct Request: Sendable, Equatable {
    /// The command name (index 0) and its arguments, exactly as received.
    public var arguments: [[UInt8]]

    /// Creates a request from raw argument bytes.
    public init(arguments: [[UInt8]]) {
        self.arguments = arguments
    }

    /// Creates a request from strings, encoded as UTF-8; convenient for clients and tests.
    public init(_ strings: [String]) {
        self.arguments = strings.map { Array($0.utf8) }
    }

    /// Whether the request carries no arguments at all (not even a command name).
    public var isEmpty: Bool {
        arguments.isEmpty
    }

    /// Number of arguments, including the command name.
    public var count: Int {
        arguments.count
    }

    /// The argument at `index` decoded as UTF-8, replacing invalid sequences with U+FFFD.
    ///
    /// Lossy decoding is deliberate: it is meant for command names and textual options, where a readable
    /// approximation beats a failure. Returns `nil` when `index` is out of range.
    public func string(at index: Int) -> String? {
        guard arguments.indices.contains(index) else {
            return nil
        }
        return String(decoding: arguments[index], as: UTF8.self)
    }
}
