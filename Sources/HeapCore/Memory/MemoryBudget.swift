import Synchronization

/// The heap's memory cap (`--max-memory`): how many bytes the allocator may take from the OS.
///
/// What is counted is what the allocator *maps*, not what objects use: whole 1 MiB arenas for small
/// blocks, and each large payload's bytes. That is the memory heapd's heap costs the machine, and it
/// is checked only where memory is taken from the OS (a new arena, a large payload), never per small
/// block, so the cap costs the hot path nothing. A refused reservation is a `LIMIT` error for the
/// command that asked, exactly like a failed `mmap` or `malloc`: heapd never aborts for memory.
///
/// Why reserve-then-check instead of check-then-reserve: two threads near the cap could both see room
/// and both take it. Adding first and backing out when the sum is past the cap lets neither pass it.
public final class MemoryBudget: Sendable {
    private let capBytes: Atomic<Int>
    private let reservedBytes = Atomic<Int>(0)
    private let peakBytes = Atomic<Int>(0)
    private let refusals = Atomic<Int>(0)

    /// A budget of `cap` bytes; 0 means no cap.
    public init(cap: Int = 0) {
        capBytes = Atomic(max(0, cap))
    }

    /// The cap in bytes (0: none).
    public var cap: Int { capBytes.load(ordering: .relaxed) }
    /// Bytes the allocator holds from the OS now.
    public var used: Int { reservedBytes.load(ordering: .relaxed) }
    /// The most bytes it ever held at once.
    public var peak: Int { peakBytes.load(ordering: .relaxed) }
    /// Allocations refused because of the cap or the OS, since start.
    public var refused: Int { refusals.load(ordering: .relaxed) }

    /// Changes the cap; memory already held above a lower cap stays until it is freed.
    public func setCap(_ bytes: Int) { capBytes.store(max(0, bytes), ordering: .relaxed) }

    /// Takes `bytes` from the budget, or returns false (and takes nothing) when that would pass the cap.
    func reserve(_ bytes: Int) -> Bool {
        let now = reservedBytes.wrappingAdd(bytes, ordering: .relaxed).newValue
        let cap = capBytes.load(ordering: .relaxed)
        if cap > 0 && now > cap {
            reservedBytes.wrappingSubtract(bytes, ordering: .relaxed)
            refusals.wrappingAdd(1, ordering: .relaxed)
            return false
        }
        var peak = peakBytes.load(ordering: .relaxed)
        while now > peak {
            let (exchanged, current) = peakBytes.compareExchange(expected: peak, desired: now, ordering: .relaxed)
            if exchanged { break }
            peak = current
        }
        return true
    }

    /// Gives back bytes taken with ``reserve(_:)`` (memory returned to the OS).
    func giveBack(_ bytes: Int) {
        reservedBytes.wrappingSubtract(bytes, ordering: .relaxed)
    }

    /// Counts an allocation the OS refused after the budget allowed it (mmap or malloc failed).
    func noteOSRefusal() {
        refusals.wrappingAdd(1, ordering: .relaxed)
    }
}
