import HeapProtocol
import XCTest

@testable import HeapServer

/// The syntax lines read into `COMMAND DOCS` arguments, and back into the hint redis-cli 7 prints.
final class ArgumentDocTests: XCTestCase {
    private func hint(_ syntax: String, _ name: String) -> String {
        ArgumentDoc.arguments(ofSyntax: syntax, command: name).map(\.hint).joined(separator: " ")
    }

    func testTheConventionsOfTheSyntaxLines() {
        XCTAssertEqual(hint("GETREFCOUNT x", "GETREFCOUNT"), "x")
        XCTAssertEqual(hint("REPR x [depth]", "REPR"), "x [depth]")
        XCTAssertEqual(hint("DEL name [name...]", "DEL"), "name [name ...]", "x [x…] is one argument that repeats")
        XCTAssertEqual(hint("GC SET_THRESHOLD t0 [t1 [t2]]", "GC SET_THRESHOLD"), "t0 [t1 [t2]]")
        XCTAssertEqual(hint("NEW target type [value | items...]", "NEW"), "target type [value|items [items ...]]")
        XCTAssertEqual(
            hint(
                "TRACEMALLOC FILTER snapshot [INCLUDE|EXCLUDE pattern [LINE n] [ALL_FRAMES]]...", "TRACEMALLOC FILTER"),
            "snapshot [INCLUDE|EXCLUDE pattern [LINE n] [ALL_FRAMES] [INCLUDE|EXCLUDE pattern [LINE n] [ALL_FRAMES] ...]]"
        )
        XCTAssertEqual(
            hint("GC GARBAGE [CURSOR c] [COUNT n] | GC GARBAGE CLEAR | GC GARBAGE GETITEM target index", "GC GARBAGE"),
            "[CURSOR c] [COUNT n]|CLEAR|GETITEM target index", "a line of several forms is a choice of them")
        XCTAssertEqual(hint("AT [file:line [command…]]", "AT"), "[file:line [command [command ...]]]")
    }

    func testTokensValuesAndFlagsInTheReply() {
        let arguments = ArgumentDoc.arguments(ofSyntax: "TYPES [LIMIT n]", command: "TYPES")
        XCTAssertEqual(arguments, [.block([.token("LIMIT", []), .value("n", [])], [.optional])])
        XCTAssertEqual(
            arguments[0].reply,
            .map([
                .init("name", .bulk("limit-n")), .init("type", .bulk("block")),
                .init(
                    "arguments",
                    .array([
                        .map([
                            .init("name", .bulk("limit")), .init("type", .bulk("pure-token")),
                            .init("token", .bulk("LIMIT")),
                        ]),
                        .map([.init("name", .bulk("n")), .init("type", .bulk("string"))]),
                    ])),
                .init("flags", .set([.simple("optional")])),
            ]))
    }

    func testMalformedLinesNeverTrap() {
        for syntax in ["X [a", "X a]", "X |", "X | |", "X a|", "X ...", "X […]", "X [ ]", "X", ""] {
            _ = ArgumentDoc.arguments(ofSyntax: syntax, command: "X").map(\.reply)
        }
    }
}
