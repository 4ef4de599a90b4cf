/// An error from a heap operation, with a stable code that the wire protocol sends as is.
///
/// Codes are an open set of static constants, as swift-service-lifecycle models its errors, so a new
/// code never breaks a `switch` in a client; the message is for people and may change.
public struct HeapError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable, upper-case error code (`NOOBJ`, `WRONGTYPE`, …): the first word of an error reply.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// An object id that names no live object (never existed, or freed since).
        public static let noObject = Code("NOOBJ")
        /// The operation does not apply to the object's type (`len()` of an int).
        public static let wrongType = Code("WRONGTYPE")
        /// A list or tuple index out of range (Python's `IndexError`).
        public static let index = Code("INDEX")
        /// A missing dict key, set element or attribute (Python's `KeyError`/`AttributeError`).
        public static let key = Code("KEY")
        /// An unhashable object used as a key or set element (Python's `TypeError`).
        public static let type = Code("TYPE")
        /// A value out of its domain (pop from an empty list, a negative size).
        public static let value = Code("VALUE")
        /// A configured limit was reached (objects, memory, depth).
        public static let limit = Code("LIMIT")
        /// The operation needs a state the heap is not in: a snapshot while tracemalloc is not
        /// tracing (Python's `RuntimeError`).
        public static let state = Code("STATE")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue) \(message)" }

    static func noObject(_ id: ObjectID) -> HeapError {
        HeapError(.noObject, "no live object with id \(id)")
    }

    static func wrongType(_ operation: String, _ typeName: String) -> HeapError {
        HeapError(.wrongType, "'\(typeName)' object does not support \(operation)")
    }
}
