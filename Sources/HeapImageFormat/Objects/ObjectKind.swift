/// The object types of heapd's heap, as in Python.
///
/// Atomic values (`int`, `float`, `str`, `bytes` and the singletons) hold no references and are never
/// tracked by the cycle collector; containers (`list`, `tuple`, `dict`, `set`, `object`, `weakref`,
/// `generator`) are.
///
/// The raw value is the kind byte of an object's header and of its record in a heap image, so the
/// type lives with the image format: one table for the heap, the image reader and `heapctl inspect`.
public enum ObjectKind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case none = 0
    case bool
    case int
    case float
    case str
    case bytes
    case list
    case tuple
    case dict
    case set
    /// An instance of a user class: a class name and an attribute table (`__dict__` kept inline, as
    /// CPython 3.11+ keeps instance values inline, so one instance is one object).
    case object
    /// A weak reference: names its target by id without counting it (`weakref.ref`).
    case weakref
    /// A lazy iterator: a range of ints made one at a time, or an iterator over a list, tuple, dict,
    /// set or str that holds a reference to it (`iter(x)`, a generator expression).
    case generator

    /// Whether objects of this kind can hold references and are tracked by the cycle collector.
    @inlinable
    public var isContainer: Bool {
        switch self {
        // A weakref holds no strong reference, but CPython tracks weakref objects (their callbacks
        // can form cycles), and the collector's counts depend on it.
        case .list, .tuple, .dict, .set, .object, .weakref, .generator: true
        default: false
        }
    }

    /// Python's name of the type (`type(x).__name__`); instances report their class name instead.
    public var description: String {
        switch self {
        case .none: "NoneType"
        case .bool: "bool"
        case .int: "int"
        case .float: "float"
        case .str: "str"
        case .bytes: "bytes"
        case .list: "list"
        case .tuple: "tuple"
        case .dict: "dict"
        case .set: "set"
        case .object: "object"
        case .weakref: "weakref"
        case .generator: "generator"
        }
    }

    /// Parses a type name as `NEW` accepts it.
    public init?(name: String) {
        guard let kind = Self.allCases.first(where: { $0.description == name.lowercased() }) else { return nil }
        self = kind
    }
}
