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
}
