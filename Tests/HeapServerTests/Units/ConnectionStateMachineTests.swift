import XCTest

@testable import HeapServer

/// The connection's life without a socket: batches, replies that come later, long commands, closing.
final class ConnectionStateMachineTests: XCTestCase {
    func testABatchOfRepliesReturnsToReading() {
        var machine = ConnectionStateMachine()
        XCTAssertTrue(machine.mayExecute)
        XCTAssertTrue(machine.startBatch())
        XCTAssertEqual(machine.state, .batching)
        XCTAssertFalse(machine.startBatch(), "one batch at a time")
        XCTAssertEqual(machine.commandReturned(.reply, subscribed: false), .sendAndContinue)
        XCTAssertEqual(machine.commandReturned(.reply, subscribed: false), .sendAndContinue)
        machine.endBatch()
        XCTAssertEqual(machine.state, .reading)
        XCTAssertTrue(machine.mayExecute)
    }

    func testAReplyThatComesLaterHoldsTheClientUntilItIsSent() {
        var machine = ConnectionStateMachine()
        XCTAssertTrue(machine.startBatch())
        XCTAssertEqual(machine.commandReturned(.replyLater, subscribed: false), .endBatchAndWait)
        machine.endBatch()
        XCTAssertEqual(machine.state, .waitingForReply, "leaving the gate does not end the wait")
        XCTAssertFalse(machine.mayExecute, "later requests wait, in order")
        XCTAssertFalse(machine.startBatch())
        XCTAssertTrue(machine.bytesReceived(), "bytes are still taken in meanwhile")
        XCTAssertEqual(machine.drained(idle: true), .none)
        XCTAssertEqual(machine.replyCompleted(), .sendAndExecute)
        XCTAssertEqual(machine.state, .reading)
        XCTAssertTrue(machine.mayExecute)
    }

    func testALongCommandHoldsTheClientUntilItsLastStep() {
        var machine = ConnectionStateMachine()
        XCTAssertTrue(machine.startBatch())
        XCTAssertEqual(machine.commandReturned(.stepped, subscribed: false), .endBatchAndStep)
        machine.endBatch()
        XCTAssertEqual(machine.state, .stepping)
        XCTAssertFalse(machine.mayExecute)
        XCTAssertEqual(machine.replyCompleted(), .sendAndExecute)
        XCTAssertEqual(machine.state, .reading)
    }

    func testQuitClosesAfterItsReplyAndNothingMoreRuns() {
        var machine = ConnectionStateMachine()
        XCTAssertTrue(machine.startBatch())
        XCTAssertEqual(machine.commandReturned(.replyAndClose, subscribed: false), .sendAndClose)
        machine.endBatch()
        XCTAssertEqual(machine.state, .closing, "closing is final")
        XCTAssertFalse(machine.mayExecute)
        XCTAssertFalse(machine.startBatch())
        XCTAssertFalse(machine.bytesReceived())
        XCTAssertFalse(machine.close(), "already closing")
    }

    func testAReplyThatCompletesAfterTheClientLeftIsDropped() {
        var machine = ConnectionStateMachine()
        XCTAssertTrue(machine.startBatch())
        _ = machine.commandReturned(.replyLater, subscribed: false)
        machine.endBatch()
        XCTAssertTrue(machine.close(), "the client hung up while GC COLLECT ran")
        XCTAssertEqual(machine.replyCompleted(), .drop)
        XCTAssertEqual(machine.state, .closing)
    }

    func testAHalfCloseClosesOnceEverythingReceivedIsAnswered() {
        var machine = ConnectionStateMachine()
        XCTAssertEqual(machine.inputClosed(idle: false), .none, "requests still wait")
        XCTAssertTrue(machine.inputClosed)
        XCTAssertTrue(machine.startBatch())
        _ = machine.commandReturned(.replyLater, subscribed: false)
        machine.endBatch()
        XCTAssertEqual(machine.drained(idle: true), .none, "not while a reply is awaited")
        XCTAssertEqual(machine.replyCompleted(), .sendAndExecute)
        XCTAssertEqual(machine.drained(idle: false), .none)
        XCTAssertEqual(machine.drained(idle: true), .closeAfterOutput)
        XCTAssertEqual(machine.state, .closing)
        XCTAssertEqual(machine.drained(idle: true), .none, "decided once")
    }

    func testAHalfCloseWhenIdleClosesAtOnce() {
        var machine = ConnectionStateMachine()
        XCTAssertEqual(machine.inputClosed(idle: true), .closeAfterOutput)
        XCTAssertEqual(machine.state, .closing)
    }

    func testOnlyAFramingErrorThatLosesSyncCloses() {
        var machine = ConnectionStateMachine()
        XCTAssertEqual(machine.protocolFailure(closesConnection: false), .none)
        XCTAssertEqual(machine.state, .reading)
        XCTAssertEqual(machine.protocolFailure(closesConnection: true), .closeAfterOutput)
        XCTAssertEqual(machine.state, .closing)
        XCTAssertEqual(machine.protocolFailure(closesConnection: true), .none, "decided once")
    }

    func testPushedEventsAreWrittenOnlyWhileSubscribedAndOpen() {
        var machine = ConnectionStateMachine()
        XCTAssertFalse(machine.pushArrived())
        XCTAssertTrue(machine.startBatch())
        _ = machine.commandReturned(.reply, subscribed: true)
        machine.endBatch()
        XCTAssertTrue(machine.pushArrived())
        XCTAssertTrue(machine.startBatch())
        _ = machine.commandReturned(.reply, subscribed: false)
        machine.endBatch()
        XCTAssertFalse(machine.pushArrived(), "an event in flight when the client unsubscribed is dropped")
        XCTAssertTrue(machine.startBatch())
        _ = machine.commandReturned(.reply, subscribed: true)
        machine.endBatch()
        XCTAssertTrue(machine.close())
        XCTAssertFalse(machine.pushArrived(), "nothing is written to a closing connection")
    }
}
