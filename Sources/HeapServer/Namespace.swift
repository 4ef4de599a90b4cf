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
///
/// Writers take the lock; a reader usually does not (issue 11 item 4). Each session keeps the ids it
/// last found (``GlobalCache``), valid while the namespace's ``version`` has not moved: no bind or
/// unbind since means each cached name still holds its object, so the object is alive and
/// `Heap.acquire(id)` (a compare-and-swap that never touches a dead object) takes a reference without
/// the lock. A reader that races a writer returns the binding of the instant it read the version; one
/// whose cached object died meanwhile fails the acquire and goes the locked way.
final class GlobalNamespace: Sendable {
    private let bindings = LockedValue(Bindings())
    /// Bumped, under the lock, by every change of a binding.
    private let version = Atomic<UInt64>(1)

    /// Looks `name` up and retains what it finds (the caller releases it), through `cache` when the
    /// namespace has not changed since the cache was filled.
    func retained(_ name: String, heap: Heap, cache: inout GlobalCache) -> ObjectRef? {
        let current = version.load(ordering: .acquiring)
        if cache.version == current {
            // The name looked up last first: comparing a short name is a compare of two words, hashing it
            // for the dictionary costs a SipHash (a loop naming one global is the common case).
            if !cache.lastName.isEmpty, name == cache.lastName, let ref = try? heap.acquire(cache.lastID) {
                return ref
            }
            if let id = cache.ids[name], let ref = try? heap.acquire(id) {
                cache.lastName = name
                cache.lastID = id
                return ref
            }
        }
        return bindings.withLock { table -> ObjectRef? in
            let now = version.load(ordering: .relaxed)
            if cache.version != now {
                cache.ids.removeAll(keepingCapacity: true)
                cache.lastName = ""
                cache.version = now
            }
            guard let ref = table.lookup(name) else { return nil }
            heap.retain(ref)
            // None, True and False need no count (and an acquire would raise theirs for good).
            if !ref.isImmortal { cache.ids[name] = heap.id(of: ref) }
            return ref
        }
    }

    func bind(_ name: String, to ref: ObjectRef) -> ObjectRef? {
        bindings.withLock {
            version.add(1, ordering: .releasing)
            return $0.bind(name, to: ref)
        }
    }

    func unbind(_ name: String) -> ObjectRef? {
        bindings.withLock {
            version.add(1, ordering: .releasing)
            return $0.unbind(name)
        }
    }

    func snapshot() -> [String: ObjectRef] {
        bindings.withLock { $0.names }
    }

    func removeAll() -> [ObjectRef] {
        bindings.withLock {
            version.add(1, ordering: .releasing)
            return $0.removeAll()
        }
    }
}

/// A session's memory of where globals were (``GlobalNamespace/retained(_:heap:cache:)``): ids, not
/// references (it keeps nothing alive), valid for one version of the namespace.
struct GlobalCache {
    var version: UInt64 = 0
    var ids: [String: ObjectID] = [:]
    /// The entry of `ids` found last ("" when none): a repeated name skips the dictionary's hashing.
    var lastName = ""
    var lastID = ObjectID(rawValue: 0)
}
