import HeapImageFormat

/// CPython 3.11's shared keys (PEP 412), by class name: the order in which a class first saw its
/// instances' attribute names, which is the order an instance's attributes are dropped in when it dies
/// or its cycle is cleared, and the order `gc.get_referents` lists them.
///
/// Why it matters: an instance's attributes are released one by one, and each release may run a
/// finalizer or a weakref callback. CPython keeps an instance's values inline, in an array indexed by
/// the class's shared keys, and drops them by index (`_PyObject_FreeInstanceAttributes`), whatever order
/// this instance set them in. Measured with CPython 3.11.7: `x.a, x.b` on a first instance, then
/// `y.b, y.a` on a second, and y dies dropping a then b; iteration (`vars(y)`) still says b, a.
///
/// What CPython does, and this type counts (`Objects/dictobject.c`):
///
/// - A class's keys start with 30 usable entries (`SHARED_KEYS_MAX_SIZE`); each instance created
///   takes one while more than one is left (`init_inline_values`), and each new name takes one.
/// - A name the keys do not hold is added while an entry is usable; otherwise the instance gets a
///   dict of its own, a *combined* one, and from then on drops its attributes in that dict's order,
///   which is the order it set them (its split values copied in insertion order, `dictresize`).
///   Measured: after 40 instances, a new instance setting `b, a, z, c` drops them in that order.
/// - Names are never taken out of the keys; a deleted attribute set again goes back to its index.
///
/// heapd has no class objects: a class is its name, and its keys live as long as the heap (a class
/// defined at module level). An instance keeps in its header byte 7 what its release needs
/// (``ObjectLayout/attributeOrder``); only one whose attributes were set out of the keys' order asks
/// here again when it dies.
final class SharedKeys: @unchecked Sendable {
    /// `SHARED_KEYS_MAX_SIZE`: the entries a class's keys start with.
    static let maxSize = 30

    /// One class's keys.
    struct ClassKeys: Equatable, Sendable {
        /// Names in the order the class first saw them (index = shared index).
        var names: [String] = []
        var indexes: [String: Int] = [:]
        /// Entries left (`dk_usable`).
        var usable = SharedKeys.maxSize
    }

    private let classes = LockedValue<[String: ClassKeys]>([:])

    /// An instance of `className` is made: it takes an entry while more than one is usable.
    func noteInstance(of className: String) {
        classes.withLock { classes in
            var keys = classes[className, default: ClassKeys()]
            if keys.usable > 1 { keys.usable -= 1 }
            classes[className] = keys
        }
    }

    /// The shared index of `name` in `className`'s keys, adding it while an entry is usable; nil when
    /// the keys are full (the instance setting it becomes combined).
    func index(of name: String, in className: String) -> Int? {
        classes.withLock { classes in
            var keys = classes[className, default: ClassKeys()]
            defer { classes[className] = keys }
            if let index = keys.indexes[name] { return index }
            guard keys.usable > 0 else { return nil }
            keys.usable -= 1
            keys.indexes[name] = keys.names.count
            keys.names.append(name)
            return keys.names.count - 1
        }
    }

    /// The shared indexes of `names` in `className`'s keys (names it does not hold sort last, in
    /// their order): how an out-of-order instance sorts its attributes when it dies.
    func indexes(of names: [String], in className: String) -> [Int] {
        classes.withLock { classes in
            let keys = classes[className]
            return names.enumerated().map { offset, name in keys?.indexes[name] ?? (Self.maxSize + offset) }
        }
    }

    /// Every class's keys, sorted by class name: a heap image's classes section.
    func snapshot() -> [HeapImage.ClassKeys] {
        classes.withLock { classes in
            classes.sorted { $0.key < $1.key }.map {
                HeapImage.ClassKeys(className: $0.key, usable: $0.value.usable, names: $0.value.names)
            }
        }
    }

    /// Replaces every class's keys with an image's (a restore; the reader checked that class names and
    /// each class's attribute names are unique).
    func restore(_ image: [HeapImage.ClassKeys]) {
        var restored: [String: ClassKeys] = [:]
        for keys in image {
            restored[keys.className] = ClassKeys(
                names: keys.names,
                indexes: Dictionary(uniqueKeysWithValues: keys.names.enumerated().map { ($1, $0) }),
                usable: keys.usable)
        }
        classes.withLock { $0 = restored }
    }
}
