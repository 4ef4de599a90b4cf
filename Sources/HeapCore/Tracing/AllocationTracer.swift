import Synchronization

/// tracemalloc for the heap: while tracing, every block the allocator hands out is recorded with its
/// size and the traceback of the command that asked for it, until it is freed.
///
/// The allocator asks ``isTracing`` (one relaxed atomic load) on every allocation and free; only
/// while it is true does it call in here, so tracing off costs one predictable branch. Everything
/// else is guarded by one mutex, as CPython guards its trace tables with one lock.
public final class AllocationTracer: @unchecked Sendable {
    /// Python's limit for `tracemalloc.start(nframe)`.
    public static let maxFrames = 65535
    /// The frame of an allocation made outside any command (the collector's thread, for one).
    public static let unknownFrame = TraceFrame(filename: "<unknown>", lineno: 0)

    private let tracing = Atomic<Bool>(false)
    private let state = LockedValue(State())

    struct Record {
        var size: Int
        var traceback: UInt32
    }

    struct State {
        var isTracing = false
        var limit = 1
        /// Bumped by every start and stop, so a thread's context token from another run is ignored.
        var epoch: UInt32 = 0
        var traces: [UInt: Record] = [:]
        var tracebacks: [Traceback] = []
        var indexes: [Traceback: UInt32] = [:]
        var current = 0
        var peak = 0

        mutating func intern(_ traceback: Traceback) -> UInt32 {
            if let index = indexes[traceback] { return index }
            let index = UInt32(tracebacks.count)
            tracebacks.append(traceback)
            indexes[traceback] = index
            return index
        }

        mutating func reset() {
            traces = [:]
            tracebacks = []
            indexes = [:]
            current = 0
            peak = 0
        }
    }

    public init() {}

    /// `tracemalloc.is_tracing()`; read on the allocation path.
    @inline(__always)
    public var isTracing: Bool { tracing.load(ordering: .relaxed) }

    /// `tracemalloc.start(nframe)`: does nothing when already tracing (CPython keeps the old limit).
    public func start(frames: Int) throws(HeapError) {
        guard frames >= 1, frames <= Self.maxFrames else {
            throw HeapError(.value, "the number of frames must be in range [1; \(Self.maxFrames)]")
        }
        state.withLock { state in
            guard !state.isTracing else { return }
            state.reset()
            state.limit = frames
            state.epoch &+= 1
            state.isTracing = true
            tracing.store(true, ordering: .releasing)
        }
    }

    /// `tracemalloc.stop()`: stops and forgets every trace.
    public func stop() {
        state.withLock { state in
            guard state.isTracing else { return }
            tracing.store(false, ordering: .releasing)
            state.isTracing = false
            state.epoch &+= 1
            state.reset()
        }
    }

    /// `tracemalloc.get_traceback_limit()`.
    public var tracebackLimit: Int { state.withLock { $0.limit } }

    /// `tracemalloc.get_traced_memory()`: bytes in traced blocks now and at their peak.
    public func tracedMemory() -> (current: Int, peak: Int) {
        state.withLock { ($0.current, $0.peak) }
    }

    /// `tracemalloc.reset_peak()`.
    public func resetPeak() { state.withLock { $0.peak = $0.current } }

    /// `tracemalloc.clear_traces()`: forgets the traces; tracing goes on.
    public func clearTraces() {
        state.withLock { state in
            state.traces = [:]
            state.current = 0
            state.peak = 0
        }
    }

    /// `tracemalloc.get_tracemalloc_memory()`: an estimate of what the trace tables occupy.
    public func overheadBytes() -> Int {
        state.withLock { state in
            let traceEntry = MemoryLayout<UInt>.stride + MemoryLayout<Record>.stride + 1
            let indexEntry = MemoryLayout<Traceback>.stride + MemoryLayout<UInt32>.stride + 1
            var bytes = state.traces.capacity * traceEntry + state.indexes.capacity * indexEntry
            bytes += state.tracebacks.capacity * MemoryLayout<Traceback>.stride
            for traceback in state.tracebacks {
                bytes += traceback.frames.count * MemoryLayout<TraceFrame>.stride + 32
                for frame in traceback.frames where frame.filename.utf8.count > 15 {
                    bytes += frame.filename.utf8.count
                }
            }
            return bytes
        }
    }

    /// Interns `frames` (most recent first) cut to the traceback limit, and returns the token a thread
    /// sets with ``TraceContext/setCurrent(_:)``; nil when not tracing.
    public func intern(_ frames: [TraceFrame]) -> TraceContext.Token? {
        state.withLock { state in
            guard state.isTracing else { return nil }
            let kept = frames.isEmpty ? [Self.unknownFrame] : Array(frames.prefix(state.limit))
            return TraceContext.Token(epoch: state.epoch, index: state.intern(Traceback(frames: kept)))
        }
    }

    /// Records a block the allocator just handed out (called only while ``isTracing``).
    func record(_ block: UnsafeMutableRawPointer, size: Int) {
        let token = TraceContext.current
        state.withLock { state in
            guard state.isTracing else { return }
            let index: UInt32
            if let token, token.epoch == state.epoch, Int(token.index) < state.tracebacks.count {
                index = token.index
            } else {
                index = state.intern(Traceback(frames: [Self.unknownFrame]))
            }
            let key = UInt(bitPattern: block)
            if let old = state.traces.updateValue(Record(size: size, traceback: index), forKey: key) {
                state.current -= old.size
            }
            state.current += size
            if state.current > state.peak { state.peak = state.current }
        }
    }

    /// Forgets a block about to go back to the allocator (called only while ``isTracing``).
    func forget(_ block: UnsafeMutableRawPointer) {
        state.withLock { state in
            if let old = state.traces.removeValue(forKey: UInt(bitPattern: block)) {
                state.current -= old.size
            }
        }
    }

    /// `tracemalloc.get_object_traceback()` for the block at `address`: nil if it is not traced.
    public func traceback(of address: UnsafeRawPointer) -> Traceback? {
        state.withLock { state in
            guard let record = state.traces[UInt(bitPattern: address)] else { return nil }
            return state.tracebacks[Int(record.traceback)]
        }
    }

    /// `tracemalloc.take_snapshot()`; throws `STATE` when not tracing, as Python raises RuntimeError.
    public func takeSnapshot() throws(HeapError) -> TraceSnapshot {
        let copy = state.withLock { state -> (Int, [Record], [Traceback])? in
            guard state.isTracing else { return nil }
            return (state.limit, Array(state.traces.values), state.tracebacks)
        }
        guard let (limit, records, tracebacks) = copy else {
            throw HeapError(.state, "the tracemalloc module must be tracing memory allocations to take a snapshot")
        }
        return TraceSnapshot(
            traces: records.map { TraceSnapshot.Trace(size: $0.size, traceback: tracebacks[Int($0.traceback)]) },
            tracebackLimit: limit)
    }
}
