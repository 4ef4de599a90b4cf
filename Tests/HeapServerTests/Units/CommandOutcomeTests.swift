import HeapCore
import HeapProtocol
import Logging
import XCTest

@testable import HeapServer

/// A command is described once: its flags say what the connection does with it, and its handler's
/// outcome says how its reply comes. Run in process, without a socket.
final class CommandOutcomeTests: XCTestCase {
    private func withSession(_ body: (ServerState, Session) throws -> Void) throws {
        try withUnitSession(body)
    }

    private func run(_ line: String, _ state: ServerState, _ session: Session) -> CommandOutcome {
        let request = Request(line.split(separator: " ").map(String.init))
        return state.heap.gate.shared { CommandTable.execute(request, in: session) }
    }

    func testCommandsThatWorkAfterTheGateSaySoInTheirFlags() {
        for name in ["GC COLLECT", "DEBUG VERIFY", "GC FREEZE", "GC UNFREEZE", "GC GET_OBJECTS", "GC GET_UNREACHABLE"] {
            XCTAssertTrue(CommandTable.spec(named: name)!.flags.contains(.stopsTheWorld), name)
        }
        for name in ["TRACEMALLOC DUMP", "TRACEMALLOC LOAD"] {
            XCTAssertTrue(CommandTable.spec(named: name)!.flags.contains(.blocksOnFiles), name)
        }
        let subscribed = CommandTable.all.filter { $0.flags.contains(.allowedWhileSubscribed) }.map(\.name)
        XCTAssertEqual(Set(subscribed), ["PING", "QUIT", "HELLO", "GC SUBSCRIBE", "GC UNSUBSCRIBE"])
        XCTAssertEqual(CommandTable.all.filter { $0.flags.contains(.closesConnection) }.map(\.name), ["QUIT"])
        XCTAssertEqual(CommandTable.all.filter { $0.flags.contains(.testOnly) }.map(\.name), ["GC DEBUG_STALL"])
    }

    func testOutcomesSayHowTheReplyComes() throws {
        try withSession { state, session in
            guard case .reply(.simple("PONG")) = run("PING", state, session) else { return XCTFail("PING") }
            guard case .replyAndClose(.ok) = run("QUIT", state, session) else { return XCTFail("QUIT") }
            guard case .afterGate = run("GC COLLECT", state, session) else { return XCTFail("GC COLLECT") }
            guard case .afterGate(let verify) = run("DEBUG VERIFY", state, session) else {
                return XCTFail("DEBUG VERIFY")
            }
            // The work runs outside the gate (here on the test's thread, as the blocking pool would).
            guard case .simple(let text) = verify() else { return XCTFail("DEBUG VERIFY's reply") }
            XCTAssertTrue(text.hasPrefix("OK heap consistent"), text)
            guard case .reply(.error(code: "ARGS", _)) = run("GC COLLECT 1 2", state, session) else {
                return XCTFail("an arity error replies at once")
            }
        }
    }

    func testALongCommandIsSteppedAndCanBeCancelled() throws {
        try withSession { state, session in
            _ = run("NEW xs list", state, session)
            guard case .stepped(let command) = run("REPR xs", state, session) else { return XCTFail("REPR") }
            var reply: Reply?
            while reply == nil { reply = command.advance() }
            XCTAssertEqual(reply, .bulk("[]"))
        }
    }

    func testSubscribedSessionsRunOnlyTheCommandsFlaggedForIt() throws {
        try withSession { state, session in
            guard case .reply(.array) = run("GC SUBSCRIBE", state, session) else { return XCTFail("SUBSCRIBE") }
            guard case .reply(.error(code: "SUBSCRIBED", _)) = run("NEW x int 1", state, session) else {
                return XCTFail("NEW while subscribed")
            }
            guard case .reply(.simple("PONG")) = run("PING", state, session) else { return XCTFail("PING") }
            guard case .reply(.array) = run("GC UNSUBSCRIBE", state, session) else { return XCTFail("UNSUBSCRIBE") }
            guard case .reply(.ok) = run("NEW x int 1", state, session) else { return XCTFail("NEW after") }
        }
    }

    func testTestOnlyCommandsAreRefusedWithoutTheOption() throws {
        try withSession { state, session in
            session.client.role = .admin
            let outcome = run("GC DEBUG_STALL 0", state, session)
            guard case .reply(.error(code: "DENIED", let message)) = outcome else {
                return XCTFail("GC DEBUG_STALL without --enable-test-commands: \(outcome)")
            }
            XCTAssertEqual(message, "GC DEBUG_STALL needs heapd --enable-test-commands")
        }
    }
}
