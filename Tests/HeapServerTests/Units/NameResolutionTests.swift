import HeapCore
import HeapProtocol
import Logging
import XCTest

@testable import HeapServer

/// Names as commands give them: `x` (a local), `g.x` (a global), `#17` (an object id), parsed by their
/// bytes, and globals read through the session's cache, whose last name is remembered.
final class NameResolutionTests: XCTestCase {
    private func withSession(_ body: (ServerState, Session) throws -> Void) throws {
        try withUnitSession(body)
    }

    private func kind(_ text: String) -> String {
        switch try? Session.parseName(text) {
        case .local(let name): "local \(name)"
        case .global(let name): "global \(name)"
        case .id(let id): "id \(id.rawValue)"
        case nil: "error"
        }
    }

    func testNamesAreParsedByTheirBytes() {
        XCTAssertEqual(kind("x"), "local x")
        XCTAssertEqual(kind("g"), "local g")
        XCTAssertEqual(kind("gx"), "local gx")
        XCTAssertEqual(kind("g.x_1"), "global x_1")
        XCTAssertEqual(kind("#17"), "id 17")
        XCTAssertEqual(kind("g."), "error")
        XCTAssertEqual(kind("#"), "error")
        XCTAssertEqual(kind("#x"), "error")
        XCTAssertEqual(kind("g.1x"), "error")
        // A combining mark after the prefix makes one Character with it: no prefix, and no identifier.
        XCTAssertEqual(kind("g.\u{301}x"), "error")
        XCTAssertEqual(kind("#\u{301}5"), "error")
        XCTAssertEqual(kind("é"), "error")
    }

    /// The cache's remembered last name must follow rebinding and deletion (the namespace's version)
    /// and tell two globals apart.
    func testAGlobalReadTwiceThenReboundReadsTheNewObject() throws {
        try withSession { state, session in
            let heap = state.heap
            try heap.gate.shared { () throws in
                try session.bind("g.a", to: heap.makeInt(1))
                try session.bind("g.b", to: heap.makeInt(2))
                for _ in 0..<3 {
                    XCTAssertEqual(try session.with("g.a") { heap.repr($0) }, "1")
                    XCTAssertEqual(try session.with("g.b") { heap.repr($0) }, "2")
                    XCTAssertEqual(try session.with("g.b") { heap.repr($0) }, "2")
                }
                try session.bind("g.b", to: heap.makeInt(3))
                XCTAssertEqual(try session.with("g.b") { heap.repr($0) }, "3")
                try session.unbind("g.b")
                XCTAssertThrowsError(try session.with("g.b") { heap.repr($0) })
                XCTAssertEqual(try session.with("g.a") { heap.repr($0) }, "1")
                try session.unbind("g.a")
            }
        }
    }
}
