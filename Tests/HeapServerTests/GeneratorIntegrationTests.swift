import Foundation
import HeapClient
import HeapProtocol
import HeapdTesting
import XCTest

/// Generators over the real socket: NEXT, LIST, SUM, their errors, and the memory a generator saves.
final class GeneratorIntegrationTests: HeapdTestCase {
    private func objects(_ client: HeapConnection) throws -> Int {
        Int(try XCTUnwrap(try info(client, "objects")["objects"]))!
    }

    func testNextProducesItemsThenStop() throws {
        let client = try heapd.connect()
        XCTAssertEqual(try client.call("NEW", "g", "gen", "range", "3"), .simple("OK"))
        XCTAssertEqual(try client.call("TYPE", "g"), .simple("generator"))
        XCTAssertEqual(bulkText(try client.call("NEXT", "g")), "0")
        XCTAssertEqual(try client.call("NEXT", "g", "x"), .simple("OK"))
        XCTAssertEqual(bulkText(try client.call("REPR", "x")), "1")
        XCTAssertEqual(try client.call("TYPE", "x"), .simple("int"))
        XCTAssertEqual(bulkText(try client.call("NEXT", "g")), "2")
        XCTAssertErrorCode(try client.call("NEXT", "g"), "STOP")
        XCTAssertErrorCode(try client.call("NEXT", "g", "y"), "STOP")
        XCTAssertErrorCode(try client.call("REPR", "y"), "NOVAR")  // nothing bound on STOP
        guard case .integer(let id) = try client.call("ID", "g") else { return XCTFail("ID") }
        XCTAssertEqual(bulkText(try client.call("REPR", "g")), "<generator object at #\(id)>")
        XCTAssertEqual(try client.call("GC", "IS_TRACKED", "g"), .integer(1))
    }

    func testIterOverAListHoldsItUntilExhausted() throws {
        let client = try heapd.connect()
        _ = try client.pipeline([["NEW", "a", "int", "5"], ["NEW", "l", "list", "a"]])
        XCTAssertEqual(try client.call("NEW", "it", "gen", "iter", "l"), .simple("OK"))
        XCTAssertEqual(try client.call("REFCOUNT", "l"), .integer(2), "l and the iterator")
        guard case .array(let referents) = try client.call("GC", "GET_REFERENTS", "it") else {
            return XCTFail("GET_REFERENTS")
        }
        XCTAssertEqual(referents.count, 1)
        XCTAssertTrue(bulkText(referents[0])?.hasSuffix(" list") == true, "\(referents)")
        XCTAssertEqual(bulkText(try client.call("NEXT", "it")), "5")
        XCTAssertEqual(try client.call("APPEND", "l", "a"), .integer(2))
        XCTAssertEqual(bulkText(try client.call("NEXT", "it")), "5", "sees the list's current length")
        XCTAssertErrorCode(try client.call("NEXT", "it"), "STOP")
        XCTAssertEqual(try client.call("REFCOUNT", "l"), .integer(1), "exhausted: the source is dropped")
        // A list that holds its own iterator is a cycle the collector frees.
        XCTAssertEqual(try client.call("NEW", "it2", "gen", "iter", "l"), .simple("OK"))
        XCTAssertEqual(try client.call("APPEND", "l", "it2"), .integer(3))
        let baseline = try objects(client)
        XCTAssertEqual(try client.call("DEL", "l", "it2"), .integer(2))
        XCTAssertEqual(try objects(client), baseline, "kept alive by the cycle")
        guard case .integer(let collected) = try client.call("GC", "COLLECT") else { return XCTFail("COLLECT") }
        XCTAssertGreaterThanOrEqual(collected, 2)
        XCTAssertEqual(try objects(client), baseline - 2)
    }

    func testListAndSum() throws {
        let client = try heapd.connect()
        XCTAssertEqual(try client.call("NEW", "r", "gen", "range", "10", "0", "-3"), .simple("OK"))
        XCTAssertEqual(try client.call("LIST", "l", "r"), .integer(4))
        XCTAssertEqual(bulkText(try client.call("REPR", "l")), "[10, 7, 4, 1]")
        XCTAssertErrorCode(try client.call("NEXT", "r"), "STOP")
        XCTAssertEqual(try client.call("LIST", "copy", "l"), .integer(4))
        XCTAssertEqual(bulkText(try client.call("SUM", "s", "l")), "22")
        XCTAssertEqual(bulkText(try client.call("REPR", "s")), "22")
        _ = try client.pipeline([["NEW", "w", "str", "héllo"], ["NEW", "f", "float", "0.5"]])
        XCTAssertEqual(try client.call("LIST", "chars", "w"), .integer(5))
        XCTAssertEqual(bulkText(try client.call("REPR", "chars")), "['h', 'é', 'l', 'l', 'o']")
        _ = try client.pipeline([["NEW", "t", "tuple", "f", "s"], ["NEW", "g", "gen", "iter", "t"]])
        XCTAssertEqual(bulkText(try client.call("SUM", "total", "g")), "22.5")
        XCTAssertEqual(try client.call("TYPE", "total"), .simple("float"))
        // sum() of non-numbers: TYPE, with the generator consumed up to and including the bad item.
        _ = try client.pipeline([["NEW", "mixed", "list", "s", "w", "f"], ["NEW", "m", "gen", "iter", "mixed"]])
        XCTAssertErrorCode(try client.call("SUM", "bad", "m"), "TYPE")
        XCTAssertEqual(bulkText(try client.call("NEXT", "m")), "0.5")
        // An int sum beyond 64 bits.
        _ = try client.pipeline([["NEW", "big", "int", "\(Int64.max)"], ["NEW", "bl", "list", "big", "big"]])
        XCTAssertErrorCode(try client.call("SUM", "bad", "bl"), "VALUE")
    }

    func testBadInput() throws {
        let client = try heapd.connect()
        _ = try client.pipeline([["NEW", "l", "list"], ["NEW", "i", "int", "3"], ["NEW", "g", "gen", "range", "2"]])
        XCTAssertErrorCode(try client.call("NEXT", "l"), "WRONGTYPE")
        XCTAssertErrorCode(try client.call("NEXT", "nope"), "NOVAR")
        XCTAssertErrorCode(try client.call("LIST", "x", "nope"), "NOVAR")
        XCTAssertErrorCode(try client.call("SUM", "x", "i"), "WRONGTYPE")
        XCTAssertErrorCode(try client.call("NEW", "x", "gen", "iter", "i"), "WRONGTYPE")
        XCTAssertErrorCode(try client.call("NEW", "x", "gen", "iter", "nope"), "NOVAR")
        XCTAssertErrorCode(try client.call("NEW", "x", "gen", "range", "a"), "SYNTAX")
        XCTAssertErrorCode(try client.call("NEW", "x", "gen", "range", "1.5"), "SYNTAX")
        XCTAssertErrorCode(try client.call("NEW", "x", "gen", "range", "99999999999999999999"), "SYNTAX")
        XCTAssertErrorCode(try client.call("NEW", "x", "gen", "range", "0", "5", "0"), "VALUE")
        XCTAssertErrorCode(try client.call("NEW", "x", "gen", "range"), "ARGS")
        XCTAssertErrorCode(try client.call("NEW", "x", "gen", "range", "1", "2", "3", "4"), "ARGS")
        XCTAssertErrorCode(try client.call("NEW", "x", "gen"), "ARGS")
        XCTAssertErrorCode(try client.call("NEW", "x", "gen", "walk", "l"), "SYNTAX")
        XCTAssertErrorCode(try client.call("NEXT"), "ARGS")
        XCTAssertErrorCode(try client.call("LIST", "x"), "ARGS")
        XCTAssertErrorCode(try client.call("LEN", "g"), "WRONGTYPE")
        guard case .integer(let id) = try client.call("ID", "g") else { return XCTFail("ID") }
        XCTAssertErrorCode(try client.call("NEXT", "#\(id)"), "DENIED")
        // A target that cannot be bound consumes nothing.
        XCTAssertErrorCode(try client.call("NEXT", "g", "#\(id)"), "SYNTAX")
        XCTAssertErrorCode(try client.call("NEXT", "g", "9bad"), "SYNTAX")
        XCTAssertErrorCode(try client.call("LIST", "#1", "g"), "SYNTAX")
        XCTAssertEqual(bulkText(try client.call("NEXT", "g")), "0")
        XCTAssertErrorCode(try client.call("REPR", "x"), "NOVAR")  // no failed command bound anything
        // A stale id is NOOBJ, never a read of freed memory.
        XCTAssertEqual(try client.call("DEL", "g"), .integer(1))
        XCTAssertErrorCode(try client.call("TYPE", "#\(id)"), "NOOBJ")
    }

    /// The point of generators: `SUM` over a generator never holds its items, `LIST` holds them all.
    func testSumOfAGeneratorKeepsTheObjectCountFlatWhereListGrowsIt() throws {
        let client = try heapd.connect()
        let baseline = try objects(client)
        XCTAssertEqual(try client.call("NEW", "g", "gen", "range", "100000"), .simple("OK"))
        XCTAssertEqual(bulkText(try client.call("SUM", "s", "g")), "4999950000")
        let afterSum = try objects(client)
        XCTAssertLessThan(afterSum - baseline, 100, "SUM: the generator and the result, not 100000 ints")
        XCTAssertEqual(try client.call("NEW", "h", "gen", "range", "100000"), .simple("OK"))
        XCTAssertEqual(try client.call("LIST", "l", "h"), .integer(100_000))
        let afterList = try objects(client)
        XCTAssertGreaterThanOrEqual(afterList - afterSum, 100_000, "LIST keeps every item alive")
        XCTAssertEqual(try client.call("DEL", "l"), .integer(1))
        XCTAssertLessThan(try objects(client) - baseline, 100, "dropping the list frees its items")
    }

    /// Differential: `list(range(a, b, c))` in CPython against heapd's `LIST`.
    func testRangeAgainstPython() throws {
        let cases: [[Int64]] = [
            [0], [7], [-3], [3, 9], [9, 3], [-10, 10, 3], [10, -10, -3], [5, 5, 1], [0, 20, 7], [20, 0, -7],
            [-1, -20, -4], [1, 2, 100], [100, 1, -100], [Int64.max - 3, Int64.max], [Int64.min, Int64.min + 10, 4],
            [Int64.min, Int64.max, Int64.max], [Int64.max, Int64.min, Int64.min],
        ]
        let python =
            "import sys\nfor line in sys.stdin:\n    r = range(*map(int, line.split())); print(repr(list(r)), sum(r))\n"
        let lines = cases.map { $0.map(String.init).joined(separator: " ") }.joined(separator: "\n") + "\n"
        // Each line: list(range(…))'s repr, a space, sum(range(…)).
        let expected = try PythonOracle.runProgram(python, stdin: lines).map { line -> (String, String) in
            let words = line.split(separator: " ")
            return (words.dropLast().joined(separator: " "), String(words.last ?? ""))
        }
        XCTAssertEqual(expected.count, cases.count)

        let client = try heapd.connect()
        for (bounds, (pythonRepr, pythonSum)) in zip(cases, expected) {
            let range = ["NEW", "r", "gen", "range"] + bounds.map(String.init)
            XCTAssertEqual(try client.call(range), .simple("OK"))
            let count = pythonRepr == "[]" ? 0 : pythonRepr.split(separator: ",").count
            XCTAssertEqual(try client.call("LIST", "l", "r"), .integer(Int64(count)))
            XCTAssertEqual(bulkText(try client.call("REPR", "l")), pythonRepr, "range\(bounds)")
            XCTAssertEqual(try client.call(range), .simple("OK"))
            if Int64(pythonSum) != nil {
                XCTAssertEqual(bulkText(try client.call("SUM", "s", "r")), pythonSum, "sum(range\(bounds))")
            } else {
                XCTAssertErrorCode(try client.call("SUM", "s", "r"), "VALUE")  // beyond 64 bits
            }
        }
    }
}
