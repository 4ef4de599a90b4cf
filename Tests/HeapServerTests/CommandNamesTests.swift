import HeapProtocol
import XCTest

@testable import HeapServer

/// The command lookup from a request's bytes: every command of the table is found by its own name in
/// any case, two-word names by their two words, and nothing else is found.
final class CommandNamesTests: XCTestCase {
    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    func testEveryCommandIsFoundByItsNameInAnyCase() {
        let names = CommandTable.names
        for (index, spec) in CommandTable.all.enumerated() {
            for form in [
                spec.name, spec.name.lowercased(),
                String(spec.name.enumerated().map { $0 % 2 == 0 ? Character($1.lowercased()) : $1 }),
            ] {
                let parts = form.split(separator: " ").map(String.init)
                let found = parts.count == 2 ? names.find(bytes(parts[0]), bytes(parts[1])) : names.find(bytes(form))
                XCTAssertEqual(found, index, form)
            }
        }
    }

    func testOtherNamesAreNotFound() {
        let names = CommandTable.names
        for word in ["", "P", "PIN", "PINGS", "PING ", "GC", "GCCOLLECT", "COLLECT", "NEWX", "\u{0}", "ÉCHO"] {
            XCTAssertNil(names.find(bytes(word)), word)
        }
        XCTAssertNil(names.find(bytes("GC"), bytes("COLLECTS")))
        XCTAssertNil(names.find(bytes("GC"), bytes("")))
        XCTAssertNil(names.find(bytes("G"), bytes("C COLLECT")))
        XCTAssertNil(names.find(bytes("PING"), bytes("PONG")))
    }

    /// Names that share a slot are told apart by their bytes: a table of many names in few slots.
    func testCollisionsAreResolvedByTheBytes() {
        let words = (0..<200).map { "CMD\($0)" }
        let names = CommandNames(words)
        for (index, word) in words.enumerated() { XCTAssertEqual(names.find(bytes(word.lowercased())), index) }
        XCTAssertNil(names.find(bytes("CMD200")))
    }

    /// A session remembers its last one-word command's word, byte for byte (``Session/lastCommandWord``):
    /// whatever it ran before, each request must get the reply a fresh session gets for it, for words
    /// repeated, repeated in another case, that start two-word commands, or that are unknown.
    func testTheRememberedCommandWordChangesNoReply() throws {
        let requests = [
            ["PING"], ["PING"], ["ping"], ["PING", "hello"], ["PING", "a", "b"], ["PINGS"], ["PING"],
            ["ECHO", "x"], ["ECHO", "x"], ["echo"], ["COMMAND", "COUNT"], ["COMMAND", "COUNT"], ["COMMAND"],
            ["COMMAND", "NOPE"], ["GC", "ISENABLED"], ["GC", "ISENABLED"], ["gc", "isenabled"], ["GC"],
            ["GC", "NOPE"], ["GETREFCOUNT"], ["GETREFCOUNT", "#1"], ["GETREFCOUNT", "#1"],
            ["A_COMMAND_NAME_LONGER_THAN_16"], ["PING"],
        ]
        try withUnitSession { state, session in
            for request in requests {
                let repeated = state.heap.gate.shared { CommandTable.execute(Request(request), in: session) }
                let fresh = try XCTUnwrap(state.openSession())
                defer { state.closeSession(fresh) }
                let alone = state.heap.gate.shared { CommandTable.execute(Request(request), in: fresh) }
                guard case .reply(let reply) = repeated, case .reply(let expected) = alone else {
                    return XCTFail("\(request): not a reply")
                }
                XCTAssertEqual(reply, expected, "\(request)")
            }
        }
    }
}
