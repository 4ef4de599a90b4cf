/// `SIZEOF`: an object's size as CPython 3.11's `sys.getsizeof` reports it (``CPythonSize``) beside the
/// bytes heapd gives it, and the same summed over everything reachable from it (pympler's `asizeof`).

/// Sizes in bytes: what CPython would use (`python`), what heapd uses (`heapd`: blocks and separately
/// allocated payloads, as `TYPES` counts them), and over how many objects.
public struct ObjectSizes: Sendable, Equatable {
    public var python: Int
    public var heapd: Int
    public var objects: Int

    public init(python: Int = 0, heapd: Int = 0, objects: Int = 0) {
        self.python = python
        self.heapd = heapd
        self.objects = objects
    }

    mutating func add(_ other: ObjectSizes) {
        python += other.python
        heapd += other.heapd
        objects += other.objects
    }
}

extension Heap {
    /// The sizes of one object (borrowed), read under its lock: callable inside the gate (shared).
    public func sizes(of ref: ObjectRef) -> ObjectSizes {
        let object = layout(ref)
        switch object.kind {
        case .list, .dict, .set, .object, .generator:
            return object.lock.withLock { sizesUnlocked(object) }
        default:
            return sizesUnlocked(object)
        }
    }

    /// The sizes of one object, read without its lock (its owner holds the lock, or the world is stopped).
    func sizesUnlocked(_ object: ObjectLayout) -> ObjectSizes {
        ObjectSizes(python: pythonSize(object), heapd: footprint(object), objects: 1)
    }

    /// `sys.getsizeof` of the object in CPython 3.11 (see ``CPythonSize`` for the model and its limits).
    func pythonSize(_ object: ObjectLayout) -> Int {
        switch object.kind {
        case .none: return CPythonSize.none
        case .bool: return CPythonSize.int(1)
        case .int: return CPythonSize.int(object.intValue)
        case .float: return CPythonSize.float
        case .str: return CPythonSize.str(utf8: UnsafeRawBufferPointer(object.bytes))
        case .bytes: return CPythonSize.bytes(count: object.byteCount)
        case .list: return CPythonSize.list(allocated: object.listCapacity)
        case .tuple: return CPythonSize.tuple(count: object.count)
        case .dict: return CPythonSize.dict(count: object.count)
        case .set: return CPythonSize.set(count: object.count)
        case .object: return CPythonSize.instance
        case .weakref: return CPythonSize.weakref
        case .generator:
            let mode = object.generatorMode
            return CPythonSize.iterator(
                overDict: mode == GeneratorMode.dictKeys.rawValue, overSet: mode == GeneratorMode.set.rawValue)
        }
    }

    /// The bytes an object occupies: its block and its separately allocated payload (a list's item
    /// array, a hash table), as the allocator hands them out — what `INFO objects` counts per kind.
    func footprint(_ object: ObjectLayout) -> Int {
        var bytes = SizeClass.footprint(object.blockSize)
        switch object.kind {
        case .list where object.listHasArray:
            bytes += SizeClass.footprint(object.listCapacity * 4)
        case .dict, .set, .object:
            if let storage = object.hashStorage { bytes += SizeClass.footprint(HashStorage(base: storage).byteSize) }
        default:
            break
        }
        return bytes
    }
}

/// `SIZEOF x DEEP`: the sizes summed over `x` and every object reachable from it, each counted once
/// (pympler's `asizeof`, or `sys.getsizeof` over the closure of `gc.get_referents`), walked in steps
/// with the world stopped.
///
/// What is counted: every object a strong reference reaches, the immortal singletons included; not
/// what a weak reference names, and not an instance's class or attribute names (in CPython those
/// belong to the class, not the instance). Done in one step, the answer is exact; over several
/// steps it has the guarantee of the other views: an object reachable from the first step to the last
/// is counted once, one created or dropped meanwhile at most once. At most `maxObjects` objects are
/// walked; past that the answer is ``Outcome/tooMany(_:)``, so a walk's memory is bounded.
public struct DeepSize {
    public enum Outcome: Sendable, Equatable {
        case sizes(ObjectSizes)
        /// The object died (or never existed) before the walk began.
        case gone
        /// More objects than allowed are reachable (the number walked when the walk stopped).
        case tooMany(Int)
    }

    private let root: ObjectID
    private let maxObjects: Int
    private var started = false
    private var seen: Set<ObjectID> = []
    /// Counted containers whose references are not walked yet.
    private var pending: [ObjectID] = []
    /// The container being walked (a big one takes several steps).
    private var cursor: ReferenceCursor?
    private var total = ObjectSizes()

    public init(from root: ObjectID, maxObjects: Int) {
        self.root = root
        self.maxObjects = maxObjects
    }

    /// One step: nil while the walk goes on.
    public mutating func advance(in stopped: borrowing StoppedHeap, budget: inout StepBudget) -> Outcome? {
        if !started {
            guard let ref = stopped.liveObject(root) else { return .gone }
            started = true
            visit(stopped, ref.slot)
        }
        while true {
            if seen.count > maxObjects { return .tooMany(seen.count) }
            if cursor != nil {
                guard walkCursor(stopped, budget: &budget) else { return nil }
                continue
            }
            guard let id = pending.popLast() else { return .sizes(total) }
            guard budget.spend() else {
                pending.append(id)
                return nil
            }
            // Died since it was counted: what it referenced is no longer reached through it.
            guard let ref = stopped.liveObject(id) else { continue }
            let kind = stopped.heap.layout(ref).kind
            cursor = ReferenceCursor(slot: ref.slot, id: id, position: kind == .object ? 1 : 0)
        }
    }

    /// Counts the object in `slot` if it is alive and not counted yet.
    private mutating func visit(_ stopped: borrowing StoppedHeap, _ slot: UInt32) {
        guard let object = stopped.liveObject(slot) else { return }
        let id = stopped.heap.table.id(of: slot)
        guard seen.insert(id).inserted else { return }
        total.add(stopped.heap.sizesUnlocked(object))
        if object.kind.isContainer { pending.append(id) }
    }

    /// Walks the cursor's references (an instance's attribute values only) until done (true) or out of
    /// budget (false).
    private mutating func walkCursor(_ stopped: borrowing StoppedHeap, budget: inout StepBudget) -> Bool {
        guard let current = cursor else { return true }
        guard let object = stopped.liveObject(current.slot), stopped.heap.table.id(of: current.slot) == current.id
        else {
            cursor = nil
            return true
        }
        var found: [UInt32] = []
        if object.kind == .object {
            // Positions from 1 are entries (position 0 is the class name).
            guard let storage = object.hashStorage else {
                cursor = nil
                return true
            }
            let table = HashStorage(base: storage)
            let first = current.position - 1
            let end = min(table.used, first + ReferenceCursor.chunk)
            for entry in first..<max(first, end) where table.key(at: entry) != HashStorage.deletedKey {
                let value = table.value(at: entry)
                if value != HashStorage.noValue { found.append(value) }
            }
            cursor = end < table.used ? ReferenceCursor(slot: current.slot, id: current.id, position: end + 1) : nil
        } else {
            let next = stopped.heap.forEachReference(
                of: object, from: current.position, limit: ReferenceCursor.chunk
            ) { found.append($0) }
            cursor = next.map { ReferenceCursor(slot: current.slot, id: current.id, position: $0) }
        }
        for slot in found { visit(stopped, slot) }
        return budget.spend(found.count + 1) || cursor == nil
    }
}
