import Synchronization
import XCTest

@testable import HeapCore

/// The collector's second freeing thread: work handed to it runs on it, a helper let go without work
/// ends, and one that waited past its limit leaves the work to the caller.
final class HelperThreadTests: XCTestCase {
    func testPostedWorkRunsOnTheHelperAndJoinWaitsForIt() {
        let helper = HelperThread()
        let ran = Atomic<Int>(0)
        let caller = pthread_self()
        let onCaller = Atomic<Bool>(true)
        helper.run {
            usleep(20_000)
            onCaller.store(pthread_equal(pthread_self(), caller) != 0, ordering: .relaxed)
            ran.add(1, ordering: .relaxed)
        }
        helper.join()
        XCTAssertEqual(ran.load(ordering: .relaxed), 1, "join returns after the work")
        XCTAssertFalse(onCaller.load(ordering: .relaxed), "the work ran on the helper")
        helper.join()  // idempotent
    }

    func testAHelperLetGoWithoutWorkEnds() {
        let start = ContinuousClock.now
        let helper = HelperThread()
        helper.join()
        XCTAssertLessThan(ContinuousClock.now - start, HelperThread.standByLimit, "it need not time out")
    }

    func testWorkPostedAfterTheHelperGaveUpRunsOnTheCaller() {
        let helper = HelperThread()
        let limit = HelperThread.standByLimit.components
        usleep(UInt32(3 * (limit.seconds * 1_000_000 + limit.attoseconds / 1_000_000_000_000)))
        let caller = pthread_self()
        let onCaller = Atomic<Bool>(false)
        helper.run { onCaller.store(pthread_equal(pthread_self(), caller) != 0, ordering: .relaxed) }
        XCTAssertTrue(onCaller.load(ordering: .relaxed), "run did the work itself, at once")
        helper.join()
    }
}
