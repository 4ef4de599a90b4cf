/// How a container reaches one of its referents, written the way Python code would reach it.
public enum ReferenceLabel: Sendable, Hashable, CustomStringConvertible {
    /// A list or tuple item: `[3]`.
    case index(Int)
    /// A dict value, by the repr of its key: `['k']`.
    case value(key: String)
    /// A dict's key object itself (a dict references its keys too): `(key 'k')`.
    case key(String)
    /// An instance attribute's value: `.name`.
    case attribute(String)
    /// The str object holding an attribute's name: `(attribute name 'x')`.
    case attributeName(String)
    /// A set element: `{item}`.
    case element
    /// An instance's class name, standing for its type: `.__class__`.
    case instanceClass
    /// A reference of a kind with no finer label.
    case referent

    public var description: String {
        switch self {
        case .index(let index): "[\(index)]"
        case .value(let key): "[\(key)]"
        case .key(let key): "(key \(key))"
        case .attribute(let name): ".\(name)"
        case .attributeName(let name): "(attribute name '\(name)')"
        case .element: "{item}"
        case .instanceClass: ".__class__"
        case .referent: "(referent)"
        }
    }
}
