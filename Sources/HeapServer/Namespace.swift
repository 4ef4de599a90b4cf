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
            let packed = PackedName(name)
            if packed.count > 0, packed == cache.lastName, let ref = try? heap.acquire(cache.lastID) {
                return ref
            }
            if let id = cache.ids[name], let ref = try? heap.acquire(id) {
                cache.lastName = packed
                cache.lastID = id
                return ref
            }
        }
        return bindings.withLock { table -> ObjectRef? in
            let now = version.load(ordering: .relaxed)
            if cache.version != now {
                cache.ids.removeAll(keepingCapacity: true)
                cache.lastName = PackedName()
                cache.version = now
            }
            guard let ref = table.lookup(name) else { return nil }
            heap.retain(ref)
            // None, True and False need no count (and an acquire would raise theirs for good).
            if !ref.isImmortal { cache.ids[name] = heap.id(of: ref) }
            return ref
        }
    }

    /// ``retained(_:heap:cache:)`` of the name the session found last, given by its bytes (after `g.`)
    /// where they arrived: no string is made. nil when it is another name, the namespace changed since,
    /// or the object died; the caller then goes the way of ``retained(_:heap:cache:)``.
    ///
    /// A name equal to the cached one needs no check of its characters: the cached one passed it.
    @inline(__always)
    func retainedLast(_ name: UnsafeRawBufferPointer, heap: Heap, cache: inout GlobalCache) -> ObjectRef? {
        guard cache.lastName.count > 0, cache.version == version.load(ordering: .acquiring),
            PackedName(name) == cache.lastName
        else { return nil }
        return try? heap.acquire(cache.lastID)
    }

    /// The reference count of the global the session found last, given by its bytes (after `g.`) as in
    /// ``retainedLast(_:heap:cache:)``, read without taking a reference: nil when it is another name, the
    /// namespace changed since, or the object is not alive (the caller then takes a reference the
    /// ordinary way).
    ///
    /// Why the count read is the cached object's: a slot's generation changes when its object dies, so
    /// the same generation read before and after the count (three loads of one atomic word, which a
    /// thread sees in the word's order of modification) means the slot held that object, alive, when
    /// its count was read; a count of 0 is an object being freed. The count is the one of that instant,
    /// as the one read under a temporary reference is, without the two read-modify-writes on a cache
    /// line every client of the global shares (issue 11: `GETREFCOUNT g.x` from both event loops).
    @inline(__always)
    func refcountOfLast(_ name: UnsafeRawBufferPointer, heap: Heap, cache: inout GlobalCache) -> Int? {
        guard cache.lastName.count > 0, cache.version == version.load(ordering: .acquiring),
            PackedName(name) == cache.lastName
        else { return nil }
        let id = cache.lastID
        // Not an immortal (the cache keeps none): a slot of the table, which is never freed or moved.
        let ref = ObjectRef(slot: id.slot)
        guard heap.id(of: ref) == id else { return nil }
        let count = heap.refcount(of: ref)
        guard count > 0, heap.id(of: ref) == id else { return nil }
        return count
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
    /// The entry of `ids` found last (empty when none, or when its name is longer than a
    /// ``PackedName`` holds): a repeated name skips the dictionary's hashing, and the string.
    var lastName = PackedName()
    var lastID = ObjectID(rawValue: 0)
}

/// A name of 1 to 16 bytes packed into two words, so that a name given as bytes (a request's argument
/// where it arrived) and one given as a string compare without a string being made: two compares.
/// Longer names, and no name, pack to the empty value (count 0), which matches nothing a caller asks
/// for (each checks `count > 0`).
struct PackedName: Equatable {
    private(set) var count = 0
    private var low: UInt64 = 0
    private var high: UInt64 = 0

    /// The empty value: no name.
    init() {}

    /// `bytes` packed; empty if there are more than 16.
    @inline(__always)
    init(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count <= 16 else { return }
        for (index, byte) in bytes.enumerated() { add(byte, at: index) }
        count = bytes.count
    }

    /// `name`'s UTF-8 bytes packed; empty if there are more than 16.
    init(_ name: String) {
        guard name.utf8.count <= 16 else { return }
        for (index, byte) in name.utf8.enumerated() { add(byte, at: index) }
        count = name.utf8.count
    }

    /// Whether `bytes` are this name's bytes, compared one by one (stopping at the first that differs,
    /// so a different name costs about one compare); false for the empty value.
    @inline(__always)
    func matches(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard count > 0, bytes.count == count else { return false }
        for index in 0..<count {
            let word = index < 8 ? low >> (8 * index) : high >> (8 * (index - 8))
            if UInt8(truncatingIfNeeded: word) != bytes[index] { return false }
        }
        return true
    }

    @inline(__always)
    private mutating func add(_ byte: UInt8, at index: Int) {
        if index < 8 {
            low |= UInt64(byte) << (8 * index)
        } else {
            high |= UInt64(byte) << (8 * (index - 8))
        }
    }
}
