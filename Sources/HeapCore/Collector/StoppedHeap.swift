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
    ///
    /// While a background capture runs (`BGSAVE`, ``BackgroundCapture``) this first waits for it to end:
    /// the capture sees mutations only through the mutators' hooks, and work done with the world
    /// stopped (a collection moving and freeing objects, a freeze) has none.
    public func withWorldStopped<R, E: Error>(_ body: (borrowing StoppedHeap) throws(E) -> R) throws(E) -> R {
        while true {
            captureRunning.wait(until: nil, for: { !$0 }, then: { _ in })
            // A capture may start between the wait and the stop: then the stop does nothing and waits again.
            var result: R?
            try gate.exclusive { () throws(E) in
                guard activeCapture == nil else { return }
                let stopped = StoppedHeap(self)
                result = try body(stopped)
            }
            if let result { return result }
        }
    }

    /// ``withWorldStopped(_:)``, then `after` as a mutator with nothing in between (no other stop, no
    /// background capture starting): for work that needs the stop's result but not the stop itself
    /// (``MutatorGate/exclusive(_:thenShared:)``).
    func withWorldStopped<R, T>(_ body: (borrowing StoppedHeap) -> R, thenAsMutator after: (R) -> T) -> T {
        while true {
            captureRunning.wait(until: nil, for: { !$0 }, then: { _ in })
            let done: T? = gate.exclusive { () -> R? in
                guard activeCapture == nil else { return nil }
                let stopped = StoppedHeap(self)
                return body(stopped)
            } thenShared: { result in
                result.map(after)
            }
            if let done { return done }
        }
    }

    /// Stops the world without waiting for a background capture: the capture's own two stops.
    func withWorldStoppedDuringCapture(_ body: (borrowing StoppedHeap) -> Void) {
        gate.exclusive {
            let stopped = StoppedHeap(self)
            body(stopped)
        }
    }
}
