/// The heap while every mutator is stopped: what code that may only run then takes as its argument.
///
/// Why a type: the collector's passes read and write reference counts, generation links and flag
/// bytes without locks, which is correct only while no mutator runs. A name suffix (`…Stopped`) said
/// so and nothing checked it. A `StoppedHeap` is made only by ``Heap/withWorldStopped(_:)``, inside
/// the gate's exclusive section, and handed to its body borrowed; being non-copyable, it cannot be
/// kept past the body. Holding one is the proof that the world is stopped.
public struct StoppedHeap: ~Copyable {
    public let heap: Heap

    fileprivate init(_ heap: Heap) {
        self.heap = heap
    }

    /// The object in `slot`, read without a lock.
    @inline(__always)
    func layout(_ slot: UInt32) -> ObjectLayout { heap.layout(slot) }
}

extension Heap {
    /// Stops every mutator (waiting for those inside the gate to leave), runs `body`, and lets them go.
    public func withWorldStopped<R, E: Error>(_ body: (borrowing StoppedHeap) throws(E) -> R) throws(E) -> R {
        try gate.exclusive { () throws(E) -> R in
            let stopped = StoppedHeap(self)
            return try body(stopped)
        }
    }
}
