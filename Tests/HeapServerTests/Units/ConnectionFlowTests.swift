import HeapdTesting
import XCTest

@testable import HeapServer

/// The backpressure rules without a socket: when a connection pauses, holds reads, resumes, closes.
final class ConnectionFlowTests: XCTestCase {
    let limits = ConnectionLimits(outputPause: 1000, maxReply: 500, outputLimit: 2000)

    func testExecutesUntilUnsentOutputPassesThePauseThenHoldsReads() {
        var flow = ConnectionFlow(limits: limits)
        XCTAssertTrue(flow.readRequested())
        XCTAssertTrue(flow.mayExecute(unsentOutput: 0))
        XCTAssertTrue(flow.mayExecute(unsentOutput: 1000), "at the watermark NIO stays writable: keep going")
        XCTAssertFalse(flow.mayExecute(unsentOutput: 1001))
        XCTAssertEqual(flow.state, .paused)
        XCTAssertFalse(flow.mayExecute(unsentOutput: 0), "paused until the channel says writable")
        XCTAssertFalse(flow.readRequested(), "a read asked for while paused is held")
        XCTAssertFalse(flow.releaseHeldRead(), "not while paused")
    }

    func testWritableAgainResumesAndReleasesTheHeldReadOnce() {
        var flow = ConnectionFlow(limits: limits)
        _ = flow.mayExecute(unsentOutput: 5000)
        _ = flow.readRequested()
        XCTAssertEqual(flow.writable(false), .none)
        XCTAssertEqual(flow.writable(true), .execute)
        XCTAssertEqual(flow.state, .open)
        XCTAssertTrue(flow.releaseHeldRead())
        XCTAssertFalse(flow.releaseHeldRead(), "released once")
        XCTAssertEqual(flow.writable(true), .none, "not paused: nothing to resume")
    }

    func testRepliesOverMaxReplyAreNotAllowed() {
        let flow = ConnectionFlow(limits: limits)
        XCTAssertTrue(flow.replyAllowed(size: 500))
        XCTAssertFalse(flow.replyAllowed(size: 501))
    }

    func testOutputPastTheHardLimitClosesOnceAndStopsEverything() {
        var flow = ConnectionFlow(limits: limits)
        XCTAssertFalse(flow.outputQueued(unsentOutput: 2000))
        XCTAssertTrue(flow.outputQueued(unsentOutput: 2001))
        XCTAssertEqual(flow.state, .closing)
        XCTAssertFalse(flow.outputQueued(unsentOutput: 9999), "decided once")
        XCTAssertFalse(flow.readRequested())
        XCTAssertFalse(flow.mayExecute(unsentOutput: 0))
        XCTAssertEqual(flow.writable(true), .none)
    }

    func testLimitsThatCannotWorkTogetherAreNamed() {
        XCTAssertNil(ConnectionLimits.default.problem)
        XCTAssertNotNil(ConnectionLimits(outputPause: 1 << 20, maxReply: 32 << 20, outputLimit: 32 << 20).problem)
        XCTAssertNotNil(ConnectionLimits(partialRequestBudget: 10).problem)
        XCTAssertNotNil(ConnectionLimits(commandTimeLimitMilliseconds: -1).problem)
        XCTAssertEqual(ConnectionLimits.default.outputResume, 256 << 10)
    }
}
