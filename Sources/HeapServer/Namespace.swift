import HeapCore
import Synchronization

/// A table of names bound to counted references: a session frame's locals, or the shared globals.
///
/// Each binding owns one reference to its object. Rebinding or deleting a name returns the reference it
/// held; the caller releases it after leaving any lock, so a free cascade never runs under this one.
struct Bindings {
    private(set) var names: [String: ObjectRef] = [:]

    /// Binds `name` to `ref` (consumed); returns the reference it replaced, for the caller to release.
    mutating func bind(_ name: String, to ref: ObjectRef) -> ObjectRef? {
        names.updateValue(ref, forKey: name)
    }

    /// Unbinds `name`; returns its reference for the caller to release.
    mutating func unbind(_ name: String) -> ObjectRef? {
        names.removeValue(forKey: name)
    }

    func lookup(_ name: String) -> ObjectRef? { names[name] }

    /// Unbinds everything; returns the references for the caller to release.
    mutating func removeAll() -> [ObjectRef] {
        defer { names.removeAll() }
        return Array(names.values)
    }
}

/// The shared namespace, like a module's globals: visible to every session as `g.name`.
final class GlobalNamespace: Sendable {
    private let bindings = LockedValue(Bindings())

    /// Looks `name` up and retains what it finds (the caller releases it).
    func retained(_ name: String, heap: Heap) -> ObjectRef? {
        bindings.withLock { table in
            guard let ref = table.lookup(name) else { return nil }
            heap.retain(ref)
            return ref
        }
    }

    func bind(_ name: String, to ref: ObjectRef) -> ObjectRef? {
        bindings.withLock { $0.bind(name, to: ref) }
    }

    func unbind(_ name: String) -> ObjectRef? {
        bindings.withLock { $0.unbind(name) }
    }

    func snapshot() -> [String: ObjectRef] {
        bindings.withLock { $0.names }
    }

    func removeAll() -> [ObjectRef] {
        bindings.withLock { $0.removeAll() }
    }
}
