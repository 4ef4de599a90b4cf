import Dispatch
import HeapCore
import Synchronization
import XCTest

/// The stop-the-world gate on its own: a stop waits for the mutators inside, keeps new ones out until it
/// ends, lets a long mutator yield at a safepoint, and never overlaps a mutator or another stop.
final class MutatorGateTests: XCTestCase {
    /// Counters shared by the threads of one test.
    final class Counters: Sendable {
        let inside = Atomic<Int>(0)
        let stoppers = Atomic<Int>(0)
        let violations = Atomic<Int>(0)
        let flag = Atomic<Bool>(false)
    }

    func testAStopWaitsForTheMutatorInside() {
        let gate = MutatorGate()
        let counters = Counters()
        let entered = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            gate.shared {
                entered.signal()
                usleep(50_000)
                counters.flag.store(true, ordering: .relaxed)
            }
            done.signal()
        }
        entered.wait()
        gate.exclusive {
            XCTAssertTrue(counters.flag.load(ordering: .relaxed), "the stop ran while the mutator was inside")
        }
        done.wait()
    }

    func testAMutatorArrivingDuringAStopWaitsForItsEnd() {
        let gate = MutatorGate()
        let counters = Counters()
        let done = DispatchSemaphore(value: 0)
        gate.exclusive {
            counters.flag.store(true, ordering: .relaxed)
            DispatchQueue.global().async {
                gate.shared {
                    if counters.flag.load(ordering: .relaxed) { counters.violations.add(1, ordering: .relaxed) }
                }
                done.signal()
            }
            XCTAssertTrue(gate.isStopPending)
            usleep(50_000)
            counters.flag.store(false, ordering: .relaxed)
        }
        done.wait()
        XCTAssertEqual(counters.violations.load(ordering: .relaxed), 0, "a mutator ran during the stop")
        XCTAssertFalse(gate.isStopPending)
    }

    func testALongMutatorYieldsToAStopAtItsSafepoint() {
        let gate = MutatorGate()
        let counters = Counters()
        let stopped = DispatchSemaphore(value: 0)
        gate.shared {
            XCTAssertFalse(gate.yieldToStop(), "no stop announced: nothing to yield to")
            DispatchQueue.global().async {
                gate.exclusive { counters.flag.store(true, ordering: .relaxed) }
                stopped.signal()
            }
            while !gate.isStopPending { usleep(100) }
            XCTAssertFalse(counters.flag.load(ordering: .relaxed), "the stop waits for this mutator")
            XCTAssertTrue(gate.yieldToStop())
            XCTAssertTrue(counters.flag.load(ordering: .relaxed), "the stop ran while the mutator yielded")
        }
        stopped.wait()
    }

    func testStopsNeverOverlapMutatorsOrEachOther() {
        let gate = MutatorGate()
        let counters = Counters()
        let stops = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 6) { thread in
            if thread < 2 {
                for _ in 0..<200 {
                    gate.exclusive {
                        if counters.stoppers.add(1, ordering: .relaxed).newValue != 1
                            || counters.inside.load(ordering: .relaxed) != 0
                        {
                            counters.violations.add(1, ordering: .relaxed)
                        }
                        counters.stoppers.subtract(1, ordering: .relaxed)
                    }
                    stops.add(1, ordering: .relaxed)
                }
            } else {
                for _ in 0..<20_000 {
                    gate.shared {
                        counters.inside.add(1, ordering: .relaxed)
                        if counters.stoppers.load(ordering: .relaxed) != 0 {
                            counters.violations.add(1, ordering: .relaxed)
                        }
                        counters.inside.subtract(1, ordering: .relaxed)
                    }
                }
            }
        }
        XCTAssertEqual(counters.violations.load(ordering: .relaxed), 0)
        XCTAssertEqual(stops.load(ordering: .relaxed), 400)
    }

    /// `exclusive(_:thenShared:)`: the second part runs as a mutator (others enter beside it), and no
    /// stop comes between the two parts: a stopper announced meanwhile waits for the second part.
    func testTheSharedTailOfAStopLetsMutatorsInButKeepsTheNextStopOut() {
        let gate = MutatorGate()
        let counters = Counters()
        let mutatorGo = DispatchSemaphore(value: 0)
        let mutatorRan = DispatchSemaphore(value: 0)
        let stopperGo = DispatchSemaphore(value: 0)
        let stopperDone = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            mutatorGo.wait()
            gate.shared { _ = counters.inside.add(1, ordering: .relaxed) }
            mutatorRan.signal()
        }
        DispatchQueue.global().async {
            stopperGo.wait()
            gate.exclusive {
                // The tail set the flag just before it ended.
                if !counters.flag.load(ordering: .relaxed) { counters.violations.add(1, ordering: .relaxed) }
            }
            stopperDone.signal()
        }
        let value = gate.exclusive {
            XCTAssertTrue(gate.isStopPending)
            return 42
        } thenShared: { value in
            XCTAssertFalse(gate.isStopPending, "the stop ended before the tail")
            // A mutator gets in while the tail runs (the tail is one of them); a stopper does not.
            mutatorGo.signal()
            XCTAssertEqual(mutatorRan.wait(timeout: .now() + 5), .success, "a mutator waited for the tail")
            stopperGo.signal()
            usleep(50_000)
            counters.flag.store(true, ordering: .relaxed)
            return value + 1
        }
        XCTAssertEqual(value, 43)
        XCTAssertEqual(stopperDone.wait(timeout: .now() + 5), .success)
        XCTAssertEqual(counters.inside.load(ordering: .relaxed), 1)
        XCTAssertEqual(counters.violations.load(ordering: .relaxed), 0, "a stop came between the stop and its tail")
    }
}
