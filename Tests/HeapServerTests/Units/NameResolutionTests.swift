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

    /// The by-bytes way (``Session/resolve(_:_:readOnly:)``) must agree with the by-string way for any
    /// name, whether or not it is the global found last: the same object, the same errors, and a
    /// reference taken either way (the count seen inside `with` is one higher than outside).
    func testANameGivenAsBytesResolvesAsTheStringDoes() throws {
        try withSession { state, session in
            let heap = state.heap
            try heap.gate.shared { () throws in
                try session.bind("g.a", to: heap.makeInt(1000))
                try session.bind("g.b", to: heap.makeInt(2000))
                try session.bind("a", to: heap.makeInt(3000))
                let long = "g.a_name_longer_than_sixteen_bytes"
                try session.bind(long, to: heap.makeInt(4000))
                let outside = try session.with("g.a") { heap.refcount(of: $0) } - 1
                for name in ["g.a", "g.a", "g.b", "g.a", "a", long, long, "g.ab", "g.", "g.A", "x", "#1"] {
                    let arguments = Arguments([Array(name.utf8)])
                    let byString = Result { () throws(CommandError) in try session.with(name) { heap.repr($0) } }
                    let byBytes = Result { () throws(CommandError) in try session.with(arguments, 0) { heap.repr($0) } }
                    XCTAssertEqual(String(describing: byBytes), String(describing: byString), name)
                }
                for _ in 0..<2 {
                    let arguments = Arguments([Array("g.a".utf8)])
                    XCTAssertEqual(try session.with(arguments, 0) { heap.refcount(of: $0) }, outside + 1)
                }
                // Rebound: the name found last no longer names what the cache remembers.
                try session.bind("g.a", to: heap.makeInt(5000))
                XCTAssertEqual(try session.with(Arguments([Array("g.a".utf8)]), 0) { heap.repr($0) }, "5000")
                try session.unbind("g.a")
                XCTAssertThrowsError(try session.with(Arguments([Array("g.a".utf8)]), 0) { heap.repr($0) })
                for name in ["g.b", "a", long] { try session.unbind(name) }
            }
        }
    }

    /// Packed names are equal exactly when their bytes are, up to 16 bytes; longer ones pack to nothing.
    func testPackedNamesCompareByTheirBytes() {
        func packed(_ text: String) -> PackedName {
            Array(text.utf8).withUnsafeBytes { PackedName($0) }
        }
        let names = ["x", "y", "xy", "yx", "abcdefgh", "abcdefgi", "abcdefghi", "abcdefghj", "abcdefghijklmnop"]
        for first in names {
            XCTAssertEqual(packed(first), PackedName(first), first)
            XCTAssertEqual(packed(first).count, first.utf8.count)
            for second in names where second != first {
                XCTAssertNotEqual(packed(first), packed(second), "\(first) \(second)")
            }
        }
        XCTAssertEqual(packed("abcdefghijklmnopq").count, 0, "17 bytes do not pack")
        XCTAssertEqual(PackedName("é").count, 2, "bytes, not characters")
        XCTAssertNotEqual(packed("a"), PackedName(), "a name is not the empty value")
    }

    /// `GETREFCOUNT g.x` in a loop reads the count of the global found last without a temporary
    /// reference (``Session/refcountOfLastGlobal(_:_:)``): its replies must be those of the ordinary
    /// way, which takes one (the first reads fill the cache), and follow a rebinding, another name
    /// bound to the object, and a deletion.
    func testGetrefcountInALoopAgreesWithTheReferenceTakingWay() throws {
        try withSession { state, session in
            let heap = state.heap
            func getrefcount(_ name: String) -> Reply {
                let outcome = heap.gate.shared { CommandTable.execute(Request(["GETREFCOUNT", name]), in: session) }
                guard case .reply(let reply) = outcome else { return .error("TEST", "not a reply") }
                return reply
            }
            func count(_ name: String) throws -> Int {
                try heap.gate.shared { () throws in try session.with(name) { heap.refcount(of: $0) } }
            }
            try heap.gate.shared { () throws in try session.bind("g.a", to: heap.makeList([])) }
            // The count under the temporary reference `with` takes: what GETREFCOUNT replies.
            let expected = Int64(try count("g.a"))
            XCTAssertEqual(expected, 2, "the binding and the temporary reference")
            for _ in 0..<4 { XCTAssertEqual(getrefcount("g.a"), .integer(expected)) }
            try heap.gate.shared { () throws in try session.bind("b", to: session.resolve("g.a")) }
            for _ in 0..<3 { XCTAssertEqual(getrefcount("g.a"), .integer(expected + 1), "a local holds it too") }
            try heap.gate.shared { () throws in try session.bind("g.c", to: session.resolve("g.a")) }
            for _ in 0..<3 { XCTAssertEqual(getrefcount("g.a"), .integer(expected + 2), "and another global") }
            try heap.gate.shared { () throws in try session.bind("g.a", to: heap.makeList([])) }
            for _ in 0..<3 { XCTAssertEqual(getrefcount("g.a"), .integer(expected), "rebound to a new list") }
            try heap.gate.shared { () throws in try session.unbind("g.a") }
            XCTAssertEqual(getrefcount("g.a").errorCode, .noVariable)
            try heap.gate.shared { () throws in
                try session.unbind("g.c")
                try session.unbind("b")
            }
        }
    }
}
