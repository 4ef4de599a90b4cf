import Synchronization

/// Weak references and finalizer flags: the parts of the object model the collector must respect.
extension Heap {
    // MARK: Weak references

    /// A new weak reference to `target` (borrowed; its count is not changed).
    ///
    /// The weakref stores the target's id, so reading it after the target died resolves to nothing
    /// (never to a new tenant of the slot); the registry lets the target's death clear it and report
    /// the event that stands for the weakref's callback.
    public func makeWeakref(to target: ObjectRef, shard: Int = 0) throws(HeapError) -> ObjectRef {
        guard !target.isImmortal else {
            throw HeapError(.type, "cannot create weak reference to '\(typeName(of: target))' object")
        }
        let (ref, object) = try allocateObject(kind: .weakref, size: 24, shard: shard)
        object.weakTarget.initialize(to: Atomic(id(of: target).rawValue))
        defer { track(ref) }
        weakrefs.withLock { registry in
            registry[target.slot, default: []].append(ref.slot)
            // Bit 0 is set and cleared only under the registry lock; atomically, because an instance's
            // attribute-order bits of the same byte are set under its own lock.
            let targetLayout = layout(target)
            targetLayout.setExtraFlags(ObjectLayout.hasWeakrefsFlag)
        }
        return ref
    }

    /// The weakref's target as a new reference, or nil when it died (`w()` returning None).
    public func weakrefTarget(_ weakref: ObjectRef) throws(HeapError) -> ObjectRef? {
        let object = layout(weakref)
        guard object.kind == .weakref else { throw HeapError.wrongType("dereferencing", typeName(of: weakref)) }
        let raw = object.weakTarget.pointee.load(ordering: .acquiring)
        guard raw != 0 else { return nil }
        return try? acquire(ObjectID(rawValue: raw))
    }

    /// Clears every weakref to a dying (or collected) object and reports each (its callback), except
    /// weakrefs that are themselves garbage of the collection in progress (CPython clears those without
    /// calling their callbacks): `silent` tells them apart.
    ///
    /// Newest first, as CPython: a weakref with a callback goes to the head of its referent's list
    /// (`insert_head` in `weakref___new__`; every heapd weakref has one, its event), and
    /// `PyObject_ClearWeakRefs` calls them from the head.
    ///
    /// Why everything happens under the registry lock: a weakref in the registry may be dying on
    /// another thread at the same moment. Its ``unregisterWeakref(_:_:)`` reads its target under this
    /// lock too, so either it runs first (and is gone from the list before we see it) or we run first
    /// (and zero its target while its block is still allocated, so it finds nothing to unregister).
    /// Reading a listed weakref's block after the lock is dropped would race with its free and read or
    /// write a block that already belongs to another object.
    func clearWeakrefs(to slot: UInt32, silent: (UInt32) -> Bool = { _ in false }) {
        let targetID = table.id(of: slot)
        let cleared = weakrefs.withLock { registry -> [ObjectID] in
            layout(slot).clearExtraFlags(ObjectLayout.hasWeakrefsFlag)
            guard let refs = registry.removeValue(forKey: slot) else { return [] }
            var reported: [ObjectID] = []
            for weak in refs.reversed() {
                layout(weak).weakTarget.pointee.store(0, ordering: .releasing)
                if !silent(weak) { reported.append(table.id(of: weak)) }
            }
            return reported
        }
        // Only ids leave the lock: an event names the weakref, it never touches its memory again.
        for weak in cleared { emit(.weakrefCleared(weakref: weak, target: targetID)) }
    }

    /// Removes a dying weakref from its target's registry entry.
    ///
    /// The target is read under the registry lock: ``clearWeakrefs(to:silent:)`` zeroes it under the
    /// same lock when the target dies first, and a nonzero target read here therefore still names a
    /// live (or not yet cleared) target whose registry entry lists this weakref.
    func unregisterWeakref(_ slot: UInt32, _ object: ObjectLayout) {
        weakrefs.withLock { registry in
            let raw = object.weakTarget.pointee.load(ordering: .acquiring)
            guard raw != 0 else { return }
            let target = ObjectID(rawValue: raw).slot
            object.weakTarget.pointee.store(0, ordering: .releasing)
            registry[target]?.removeAll { $0 == slot }
            if registry[target]?.isEmpty == true {
                registry[target] = nil
                layout(target).clearExtraFlags(ObjectLayout.hasWeakrefsFlag)
            }
        }
    }

    // MARK: Finalizers

    /// Gives an object a finalizer: `__del__` (`legacy: false`, PEP 442 semantics) or a legacy
    /// `tp_del` (`legacy: true`), which makes a cycle holding it uncollectable.
    public func setFinalizer(_ ref: ObjectRef, legacy: Bool) throws(HeapError) {
        guard !ref.isImmortal else { throw HeapError(.type, "cannot give a finalizer to an immortal object") }
        let object = layout(ref)
        let flag = legacy ? ObjectLayout.legacyFinalizerFlag : ObjectLayout.finalizerFlag
        object.lock.withLock {
            willMutate(ref.slot)
            generations.setFlag(ref.slot, flag, true)
        }
    }

    /// `gc.is_finalized(x)`: whether the object's finalizer already ran.
    public func isFinalized(_ ref: ObjectRef) -> Bool {
        guard !ref.isImmortal else { return false }
        let object = layout(ref)
        return object.lock.withLock { generations.lock.withLock { object.hasFlag(ObjectLayout.finalizedFlag) } }
    }

    /// `gc.is_tracked(x)`.
    public func isTracked(_ ref: ObjectRef) -> Bool {
        guard !ref.isImmortal else { return false }
        let object = layout(ref)
        guard object.kind.isContainer else { return false }
        return object.lock.withLock { generations.lock.withLock { object.isTracked } }
    }

    /// `gc.get_referents(x)`: what x's `tp_traverse` visits, in its order (``forEachTraversed(of:_:)``),
    /// retained (release them).
    public func referents(of ref: ObjectRef) -> [ObjectRef] {
        let object = layout(ref)
        guard object.kind.isContainer else { return [] }
        return object.lock.withLock {
            var result: [ObjectRef] = []
            let visit = { (slot: UInt32) in
                let child = ObjectRef(slot: slot)
                self.retain(child)
                result.append(child)
            }
            if object.kind == .object && object.attributeOrder == .unsorted {
                // CPython visits inline values by shared index (``SharedKeys``), then the type.
                for (_, value) in attributesInSharedOrder(of: object) { visit(value) }
                visit(object.className)
            } else {
                forEachTraversed(of: object, visit)
            }
            return result
        }
    }
}
