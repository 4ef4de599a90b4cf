import Synchronization

/// The managed heap: objects in arena memory, named by slots of a handle table that carries their
/// atomic reference counts.
///
/// Ownership rules, which every method states: a method that *returns* an ``ObjectRef`` hands the caller
/// one reference (release it when done); a method that *takes* one only borrows it unless it says it
/// consumes it. Containers take their own references to what is stored in them.
///
/// Thread safety: reference-count operations are lock-free atomics; a container's body is guarded by its
/// own spin lock; allocation goes through per-shard locks. Callers run mutating work inside
/// ``gate`` (shared), so the cycle collector and the verifier can stop the world.
public final class Heap: @unchecked Sendable {
    public let configuration: HeapConfiguration
    let allocator: ArenaAllocator
    @usableFromInline let table: HandleTable
    let generations: GenerationLists
    /// Mutators run inside `gate.shared`; the collector and verifier inside `gate.exclusive`.
    public let gate = MutatorGate()
    let counters: KindCounters
    /// The classes' shared keys: the order instances drop their attributes in.
    let sharedKeys = SharedKeys()
    private let immortalBlock: UnsafeMutableRawPointer

    /// The cycle collector (its thread starts with ``CycleCollector/start()``).
    public let collector: CycleCollector
    /// Weak references by target slot (see ``Heap/makeWeakref``).
    let weakrefs = LockedValue<[UInt32: [UInt32]]>([:])
    /// The background capture (`BGSAVE`) in progress, if any: set and cleared only with the world
    /// stopped, read by mutators' hooks only while ``HandleTable/countSnapshot`` is active.
    var activeCapture: BackgroundCapture?
    /// Whether a background capture runs, from just before its first stop to just after its last: stops
    /// of the world wait on it (``withWorldStopped(_:)``).
    let captureRunning = MonotonicCondition(false)
    /// Where finalizer, weakref and collection events go (see ``setEventSink(_:)``).
    private let eventSink = LockedValue<EventSink?>(nil)

    /// A closure in a box: read through the lock as a class reference, so each call costs the same
    /// (storing the bare closure made every read wrap it in one more reabstraction thunk).
    final class EventSink: Sendable {
        let handler: @Sendable (HeapEvent) -> Void
        init(_ handler: @escaping @Sendable (HeapEvent) -> Void) { self.handler = handler }
    }

    /// Sends every heap event (finalizers, weakref deaths, collections, debug output) to `handler`,
    /// from whichever thread it happens on; nil stops.
    public func setEventSink(_ handler: (@Sendable (HeapEvent) -> Void)?) {
        let box = handler.map { EventSink($0) }
        eventSink.withLock { $0 = box }
    }

    public init(configuration: HeapConfiguration = HeapConfiguration()) {
        self.configuration = configuration
        allocator = ArenaAllocator(
            shardCount: configuration.shardCount, budget: MemoryBudget(cap: configuration.maxMemory))
        table = HandleTable(capacity: configuration.maxObjects, shardCount: configuration.shardCount)
        generations = GenerationLists(table: table)
        counters = KindCounters(shardCount: configuration.shardCount)
        collector = CycleCollector()
        // The singletons live in one static block outside the arena: they are never freed.
        immortalBlock = UnsafeMutableRawPointer.allocate(byteCount: 4 * 32, alignment: 16)
        for (index, kind) in [ObjectKind.none, .bool, .bool, .tuple].enumerated() {
            let block = immortalBlock + index * 32
            ObjectLayout(block).initializeHeader(slot: UInt32(index), kind: kind)
            if kind == .tuple { ObjectLayout(block).count = 0 }
            table.claimImmortal(UInt32(index), address: block)
        }
        collector.attach(self)
        collector.marksInSteps.store(configuration.markStepMicroseconds > 0, ordering: .relaxed)
        collector.markStepNanoseconds.store(configuration.markStepMicroseconds * 1000, ordering: .relaxed)
    }

    /// The memory cap and what the allocator holds against it (`INFO memory`).
    public var memoryBudget: MemoryBudget { allocator.budget }

    /// tracemalloc over this heap's allocator.
    public var tracer: AllocationTracer { allocator.tracer }

    /// `tracemalloc.get_object_traceback(x)`: where the object's block was allocated, if traced.
    public func allocationTraceback(of ref: ObjectRef) -> Traceback? {
        guard !ref.isImmortal else { return nil }
        return allocator.tracer.traceback(of: table.object(ref.slot))
    }

    /// Sends an event to the sink, if any.
    func emit(_ event: @autoclosure () -> HeapEvent) {
        if let sink = eventSink.withLock({ $0 }) { sink.handler(event()) }
    }

    deinit {
        collector.stop()
        immortalBlock.deallocate()
    }

    // MARK: - Reference counts

    /// Adds a reference (Python's `Py_INCREF`): one atomic add; no-op on immortal objects.
    @inlinable @inline(__always)
    public func retain(_ ref: ObjectRef) {
        guard !ref.isImmortal else { return }
        table.willChangeCount(ref.slot)
        table.word(ref.slot).pointee.wrappingAdd(1, ordering: .relaxed)
    }

    /// Drops a reference (Python's `Py_DECREF`); at zero the object is freed at once, and everything it
    /// alone kept alive after it, iteratively.
    @inlinable @inline(__always)
    public func release(_ ref: ObjectRef, shard: Int = 0) {
        guard !ref.isImmortal else { return }
        if dropReference(ref.slot) {
            deallocate(ref.slot, shard: shard)
        }
    }

    /// Decrements and reports whether the count reached zero.
    @inlinable @inline(__always)
    func dropReference(_ slot: UInt32) -> Bool {
        table.willChangeCount(slot)
        let old = table.word(slot).pointee.wrappingSubtract(1, ordering: .acquiringAndReleasing).oldValue
        let count = old & HandleTable.refcountMask
        // Like Redis's decrRefCount: a decrement at zero means a reference was dropped twice.
        precondition(count != 0, "heapd: reference count of slot \(slot) went below zero (heap corrupted)")
        return count == 1
    }

    /// Resolves an id to a new reference, or throws `NOOBJ`; never reads memory of a dead object.
    public func acquire(_ id: ObjectID) throws(HeapError) -> ObjectRef {
        // The singletons are never freed and keep no count (``retain`` leaves them alone too).
        if id.slot < ObjectRef.immortalCount && id.generation == 0 { return ObjectRef(slot: id.slot) }
        guard let slot = table.acquire(id) else { throw HeapError.noObject(id) }
        return ObjectRef(slot: slot)
    }

    /// The object's id.
    public func id(of ref: ObjectRef) -> ObjectID { table.id(of: ref.slot) }

    /// The raw reference count; immortal objects report 2³²−1, as CPython 3.12 does.
    public func refcount(of ref: ObjectRef) -> Int {
        ref.isImmortal ? Int(UInt32.max) : table.refcount(ref.slot)
    }

    @inline(__always)
    func layout(_ ref: ObjectRef) -> ObjectLayout { ObjectLayout(table.object(ref.slot)) }

    @inline(__always)
    func layout(_ slot: UInt32) -> ObjectLayout { ObjectLayout(table.object(slot)) }

    /// The object's kind.
    public func kind(of ref: ObjectRef) -> ObjectKind { layout(ref).kind }

    /// Python's `type(x).__name__`: the class name for instances.
    public func typeName(of ref: ObjectRef) -> String {
        let object = layout(ref)
        if object.kind == .object { return String(decoding: layout(object.className).bytes, as: UTF8.self) }
        return object.kind.description
    }

    /// The bool singleton for `value`.
    public func bool(_ value: Bool) -> ObjectRef { value ? .true : .false }

    // MARK: - Allocation

    /// Allocates a block, claims a slot for it and writes the header; the object has one reference.
    /// Throws `LIMIT` when the memory cap, the OS or the handle table refuses; nothing is left behind.
    func allocateObject(kind: ObjectKind, size: Int, shard: Int, zeroed: Bool = false) throws(HeapError) -> (
        ObjectRef, ObjectLayout
    ) {
        guard let block = allocator.allocate(size: size, shard: shard, zeroed: zeroed) else {
            throw outOfMemory(size)
        }
        guard let (slot, _) = table.claim(address: block, shard: shard) else {
            allocator.free(block, size: size, shard: shard)
            throw HeapError(.limit, "object limit reached (\(configuration.maxObjects) objects)")
        }
        let object = ObjectLayout(block)
        object.initializeHeader(slot: slot, kind: kind)
        counters.add(kind: kind, bytes: SizeClass.footprint(size), shard: shard)
        return (ObjectRef(slot: slot), object)
    }

    /// The `LIMIT` error for an allocation of `bytes` that the cap or the OS refused.
    func outOfMemory(_ bytes: Int) -> HeapError {
        let cap = allocator.budget.cap
        if cap > 0 && allocator.budget.used + bytes > cap {
            return HeapError(.limit, "memory limit reached: \(bytes) more bytes would pass max-memory \(cap)")
        }
        return HeapError(.limit, "out of memory: the system refused \(bytes) bytes")
    }

    /// Counts a freshly built container and tracks it in generation 0 (dicts start untracked, as in
    /// CPython, until they hold something that may be tracked); wakes the collector when the count
    /// crosses threshold 0.
    func track(_ ref: ObjectRef, link: Bool = true) {
        let count = generations.noteAllocation(ref.slot, link: link)
        collector.noteAllocationCount(count)
    }

    /// A new `int`.
    public func makeInt(_ value: Int64, shard: Int = 0) throws(HeapError) -> ObjectRef {
        let (ref, object) = try allocateObject(kind: .int, size: 16, shard: shard)
        object.intValue = value
        return ref
    }

    /// A new `float`.
    public func makeFloat(_ value: Double, shard: Int = 0) throws(HeapError) -> ObjectRef {
        let (ref, object) = try allocateObject(kind: .float, size: 16, shard: shard)
        object.floatValue = value
        return ref
    }

    /// A new `str` holding the UTF-8 bytes of `value`.
    public func makeStr(_ value: String, shard: Int = 0) throws(HeapError) -> ObjectRef {
        try makeByteObject(kind: .str, contents: Array(value.utf8), shard: shard)
    }

    /// A new `bytes` holding `contents`.
    public func makeBytes(_ contents: [UInt8], shard: Int = 0) throws(HeapError) -> ObjectRef {
        try makeByteObject(kind: .bytes, contents: contents, shard: shard)
    }

    /// A new `bytes` of `count` zero bytes (`bytes(count)`).
    public func makeZeroBytes(count: Int, shard: Int = 0) throws(HeapError) -> ObjectRef {
        guard count >= 0, count < Int(UInt32.max) - 64 else {
            throw HeapError(.value, "bytes size must be between 0 and \(Int(UInt32.max) - 64)")
        }
        let (ref, object) = try allocateObject(
            kind: .bytes, size: ObjectLayout.bytesHeader + count, shard: shard, zeroed: true)
        object.byteCount = count
        return ref
    }

    private func makeByteObject(kind: ObjectKind, contents: [UInt8], shard: Int) throws(HeapError) -> ObjectRef {
        guard contents.count < Int(UInt32.max) - 64 else { throw HeapError(.limit, "\(kind) too long") }
        let (ref, object) = try allocateObject(
            kind: kind, size: ObjectLayout.bytesHeader + contents.count, shard: shard)
        object.byteCount = contents.count
        contents.withUnsafeBytes { source in
            if let start = source.baseAddress {
                object.bytes.baseAddress!.copyMemory(from: start, byteCount: source.count)
            }
        }
        return ref
    }

    /// A new `list` of `items` (borrowed: the list takes its own references).
    public func makeList(_ items: [ObjectRef] = [], shard: Int = 0) throws(HeapError) -> ObjectRef {
        let (ref, object) = try allocateObject(kind: .list, size: ObjectLayout.listSize, shard: shard)
        object.count = 0
        // A list display `[a, b, c]` is allocated exactly (BUILD_LIST), `[]` with no array at all.
        object.listCapacity = 0
        object.listHasArray = false  // the block may hold an old object's bytes
        if !resizeList(object, capacity: items.count, holding: items.count, shard: shard) {
            release(ref, shard: shard)
            throw outOfMemory(items.count * 4)
        }
        for (index, item) in items.enumerated() {
            retain(item)
            object.listItems[index] = item.slot
        }
        object.count = items.count
        track(ref)
        return ref
    }

    /// A new `tuple` of `items` (borrowed).
    public func makeTuple(_ items: [ObjectRef], shard: Int = 0) throws(HeapError) -> ObjectRef {
        if items.isEmpty { return .emptyTuple }
        let (ref, object) = try allocateObject(
            kind: .tuple, size: ObjectLayout.tupleSize(count: items.count), shard: shard)
        object.count = items.count
        for (index, item) in items.enumerated() {
            retain(item)
            object.tupleItems[index] = item.slot
        }
        track(ref)
        return ref
    }

    /// A new empty `dict`.
    public func makeDict(shard: Int = 0) throws(HeapError) -> ObjectRef {
        let (ref, object) = try allocateObject(kind: .dict, size: ObjectLayout.hashObjectSize, shard: shard)
        object.count = 0
        object.hashStorage = nil
        track(ref, link: false)
        return ref
    }

    /// A new `set` of `items` (borrowed); throws `TYPE` for an unhashable item.
    public func makeSet(_ items: [ObjectRef] = [], shard: Int = 0) throws(HeapError) -> ObjectRef {
        for item in items { _ = try hashValue(item) }
        let (ref, object) = try allocateObject(kind: .set, size: ObjectLayout.hashObjectSize, shard: shard)
        object.count = 0
        object.hashStorage = nil
        for item in items { try add(ref, item, shard: shard) }
        track(ref)
        return ref
    }

    /// A new instance of class `className` with no attributes.
    public func makeInstance(className: String, shard: Int = 0) throws(HeapError) -> ObjectRef {
        let name = try makeStr(className, shard: shard)
        let (ref, object): (ObjectRef, ObjectLayout)
        do {
            (ref, object) = try allocateObject(kind: .object, size: ObjectLayout.hashObjectSize, shard: shard)
        } catch {
            release(name, shard: shard)
            throw error
        }
        object.count = 0
        object.hashStorage = nil
        object.className = name.slot
        sharedKeys.noteInstance(of: className)
        track(ref)
        return ref
    }
}
