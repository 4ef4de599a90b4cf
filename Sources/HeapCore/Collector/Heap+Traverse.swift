/// What CPython's `tp_traverse` functions visit: the references `gc.get_referents` lists and
/// `gc.get_referrers` looks for.
///
/// The collector and the freeing path follow every counted reference (``Heap/forEachReference(of:_:)``),
/// keys and attribute names included; those are atomic `str`s, so for finding cycles it makes no
/// difference. The two listings must show what CPython 3.11's traverse functions visit instead:
///
/// | kind      | visited (in this order)                     | CPython                                   |
/// |-----------|---------------------------------------------|-------------------------------------------|
/// | list      | items, last to first                        | `list_traverse`                           |
/// | tuple     | items, last to first                        | `tupletraverse`                           |
/// | dict      | values, in insertion order (not the keys);  | `dict_traverse`: a str-keyed dict visits  |
/// |           | value then key per entry once a key is not  | its values only (`DK_IS_UNICODE`), any    |
/// |           | a `str` (``HashStorage/hasGeneralKeys``)    | other value then key                      |
/// | set       | elements                                    | `set_traverse`                            |
/// | instance  | attribute values, then its type             | `subtype_traverse` (values array, type)   |
/// | generator | its source, until exhausted                 | the iterator's `tp_traverse`              |
/// | weakref   | nothing                                     | `gc_traverse` visits the callback         |
///
/// Commands give dict keys as strings, and 3.11 visits only the values of such a dict (`DK_IS_UNICODE`).
/// The core's API takes any hashable key (a tuple): such a dict visits value then key per entry, and
/// the collector depends on it — a tuple key is a container that trial deletion counts, so a
/// traversal that skipped it would leave it unreachable while the dict still holds it.
/// An instance's type is represented by its class-name `str` (there are no class objects), and its
/// attribute names are not visited: CPython keeps them in the class's shared keys, not in the instance.
/// A weakref's callback is an event in heapd, not an object, so there is nothing to visit.
extension Heap {
    /// Calls `body` with each slot `object` references, as CPython's `tp_traverse` would visit them.
    @inline(__always)
    func forEachTraversed(of object: ObjectLayout, _ body: (UInt32) -> Void) {
        switch object.kind {
        case .list, .tuple:
            for item in object.sequenceItems.reversed() { body(item) }
        case .dict, .object:
            if let storage = object.hashStorage {
                let table = HashStorage(base: storage)
                if table.hasGeneralKeys {
                    table.forEach { key, value in
                        body(value)
                        body(key)
                    }
                } else {
                    table.forEach { _, value in
                        if value != HashStorage.noValue { body(value) }
                    }
                }
            }
            if object.kind == .object { body(object.className) }
        case .set:
            if let storage = object.hashStorage {
                HashStorage(base: storage).forEach { key, _ in body(key) }
            }
        case .generator:
            let source = object.generatorSource
            if source != ObjectLayout.noLink { body(source) }
        default:
            break
        }
    }
}
