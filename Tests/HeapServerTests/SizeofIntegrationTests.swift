import Foundation
import HeapClient
import HeapProtocol
import HeapdTesting
import XCTest

/// `SIZEOF x [DEEP]` against CPython 3.11 itself: the same objects are built in heapd and in python3.11,
/// and `sys.getsizeof` (and its sum over the closure of `gc.get_referents`, dict keys included, as pympler's
/// `asizeof` counts them) must equal heapd's answer.
final class SizeofIntegrationTests: HeapdTestCase {
    /// One object built both ways: heapd's commands and the Python statements that make `name`.
    private struct Case {
        let name: String
        let heapd: [[String]]
        let python: String
    }

    /// python3.11 (the version heapd models), or a skip.
    private func python311() throws -> String {
        guard let python = BuildProducts.onPath("python3.11") else {
            throw XCTSkip("python3.11 is not on PATH (SIZEOF models CPython 3.11)")
        }
        return python
    }

    /// `[python, n, heapd, n(, objects, n)]` as a dictionary.
    private func fields(_ reply: Reply, file: StaticString = #filePath, line: UInt = #line) -> [String: Int] {
        guard case .array(let items) = reply, items.count % 2 == 0 else {
            XCTFail("SIZEOF replied \(reply)", file: file, line: line)
            return [:]
        }
        var result: [String: Int] = [:]
        for index in stride(from: 0, to: items.count, by: 2) {
            guard let key = bulkText(items[index]), case .integer(let value) = items[index + 1] else { continue }
            result[key] = Int(value)
        }
        return result
    }

    private var cases: [Case] {
        var cases: [Case] = [
            Case(name: "zero", heapd: [["NEW", "zero", "int", "0"]], python: "zero = int('0')"),
            Case(name: "neg", heapd: [["NEW", "neg", "int", "-5"]], python: "neg = int('-5')"),
            Case(name: "big30", heapd: [["NEW", "big30", "int", "1073741824"]], python: "big30 = 2**30"),
            Case(name: "big62", heapd: [["NEW", "big62", "int", "4611686018427387904"]], python: "big62 = 2**62"),
            Case(
                name: "minint", heapd: [["NEW", "minint", "int", "-9223372036854775808"]],
                python: "minint = -2**63"),
            Case(name: "f", heapd: [["NEW", "f", "float", "2.5"]], python: "f = float('2.5')"),
            Case(name: "flag", heapd: [["NEW", "flag", "bool", "false"]], python: "flag = False"),
            Case(name: "nothing", heapd: [["NEW", "nothing", "none"]], python: "nothing = None"),
            Case(name: "empty", heapd: [["NEW", "empty", "str", ""]], python: "empty = str()"),
            Case(name: "ascii", heapd: [["NEW", "ascii", "str", "hello world"]], python: "ascii = 'hello' + ' world'"),
            Case(name: "latin", heapd: [["NEW", "latin", "str", "café"]], python: "latin = 'caf' + 'é'"),
            Case(name: "bmp", heapd: [["NEW", "bmp", "str", "€uro"]], python: "bmp = '€' + 'uro'"),
            Case(name: "astral", heapd: [["NEW", "astral", "str", "😀x"]], python: "astral = '😀' + 'x'"),
            Case(name: "zeros", heapd: [["NEW", "zeros", "bytes", "100"]], python: "zeros = bytes(100)"),
            Case(name: "abc", heapd: [["NEW", "abc", "bytes", "DATA", "abc"]], python: "abc = b'ab' + b'c'"),
            Case(
                name: "t",
                heapd: [
                    ["NEW", "t1", "int", "1001"], ["NEW", "t2", "str", "two"], ["NEW", "t", "tuple", "t1", "t2"],
                ],
                python: "t1 = int('1001'); t2 = 'tw' + 'o'; t = (t1, t2)"),
            Case(name: "unit", heapd: [["NEW", "unit", "tuple"]], python: "unit = ()"),
            Case(name: "l0", heapd: [["NEW", "l0", "list"]], python: "l0 = []"),
            Case(
                name: "l3",
                heapd: [
                    ["NEW", "i1", "int", "5001"], ["NEW", "i2", "int", "5002"],
                    ["NEW", "l3", "list", "i1", "i2", "i1"],
                ],
                python: "i1 = int('5001'); i2 = int('5002'); l3 = [i1, i2, i1]"),
            Case(
                name: "weak", heapd: [["NEW", "target", "object", "Node"], ["WEAKREF", "weak", "target"]],
                python: "target = Node(); weak = weakref.ref(target)"),
            Case(
                name: "node",
                heapd: [
                    ["NEW", "node", "object", "Node"], ["NEW", "v1", "int", "7001"], ["NEW", "v2", "str", "seven"],
                    ["SETATTR", "node", "a", "v1"], ["SETATTR", "node", "b", "v2"],
                ],
                python: "node = Node(); v1 = int('7001'); v2 = 'sev' + 'en'; node.a = v1; node.b = v2"),
            Case(name: "rg", heapd: [["NEW", "rg", "gen", "range", "10"]], python: "rg = iter(range(10))"),
            Case(
                name: "dg", heapd: [["NEW", "dd", "dict"], ["NEW", "dg", "gen", "iter", "dd"]],
                python: "dd = {}; dg = iter(dd)"),
            Case(
                name: "sg", heapd: [["NEW", "ss", "set"], ["NEW", "sg", "gen", "iter", "ss"]],
                python: "ss = set(); sg = iter(ss)"),
        ]
        // Lists through their history: appends (1 to 30 items), then pops back down, a clear, list(range).
        for count in [1, 4, 5, 9, 17, 25, 30] {
            var heapd: [[String]] = [["NEW", "la\(count)", "list"]]
            for item in 0..<count {
                heapd += [["NEW", "x", "int", "\(10_000 + item)"], ["APPEND", "la\(count)", "x"]]
            }
            cases.append(
                Case(
                    name: "la\(count)", heapd: heapd,
                    python: "la\(count) = []\nfor i in range(\(count)): la\(count).append(int(str(10000 + i)))"))
        }
        var popped: [[String]] = [["NEW", "lp", "list"]]
        for item in 0..<40 { popped += [["NEW", "x", "int", "\(20_000 + item)"], ["APPEND", "lp", "x"]] }
        for _ in 0..<33 { popped.append(["POP", "x", "lp"]) }
        popped.append(["POP", "x", "lp", "0"])
        cases.append(
            Case(
                name: "lp", heapd: popped,
                python:
                    "lp = []\nfor i in range(40): lp.append(int(str(20000 + i)))\nfor i in range(33): lp.pop()\nlp.pop(0)"
            ))
        cases.append(
            Case(
                name: "lc",
                heapd: [["NEW", "x", "int", "30000"], ["NEW", "lc", "list", "x", "x", "x"], ["CLEAR", "lc"]],
                python: "x = int('30000'); lc = [x, x, x]; lc.clear()"))
        for count in [0, 1, 7, 10] {
            cases.append(
                Case(
                    name: "lr\(count)",
                    heapd: [["NEW", "g", "gen", "range", "\(count)"], ["LIST", "lr\(count)", "g"]],
                    python: "lr\(count) = list(iter(range(\(count))))"))
        }
        cases.append(
            Case(
                name: "li",
                heapd: [
                    ["NEW", "src", "list", "i1", "i2", "i1", "i2", "i1"], ["NEW", "g", "gen", "iter", "src"],
                    ["LIST", "li", "g"],
                ],
                python: "src = [i1, i2, i1, i2, i1]; li = list(iter(src))"))
        // Dicts and sets built by insertions, across their resizes.
        for count in [0, 1, 5, 6, 11, 22, 43] {
            var heapd: [[String]] = [["NEW", "d\(count)", "dict"]]
            for key in 0..<count {
                heapd += [["NEW", "x", "int", "\(40_000 + key)"], ["SETITEM", "d\(count)", "key\(key)", "x"]]
            }
            cases.append(
                Case(
                    name: "d\(count)", heapd: heapd,
                    python: "d\(count) = {}\nfor k in range(\(count)): d\(count)['key' + str(k)] = int(str(40000 + k))")
            )
        }
        for count in [0, 4, 5, 18, 19, 77] {
            var heapd: [[String]] = [["NEW", "s\(count)", "set"]]
            for element in 0..<count {
                heapd += [["NEW", "x", "int", "\(50_000 + element)"], ["ADD", "s\(count)", "x"]]
            }
            cases.append(
                Case(
                    name: "s\(count)", heapd: heapd,
                    python: "s\(count) = set()\nfor k in range(\(count)): s\(count).add(int(str(50000 + k)))"))
        }
        // A graph with sharing and a cycle, for DEEP.
        cases.append(
            Case(
                name: "root",
                heapd: [
                    ["NEW", "root", "dict"], ["NEW", "shared", "str", "shared text"],
                    ["NEW", "inner", "list", "shared", "shared"],
                    ["APPEND", "inner", "inner"], ["SETITEM", "root", "inner", "inner"],
                    ["SETITEM", "root", "again", "shared"],
                    ["NEW", "pair", "tuple", "inner", "shared"], ["SETITEM", "root", "pair", "pair"],
                    ["SETITEM", "root", "node", "node"],
                ],
                python: """
                    root = {}; shared = 'shared' + ' text'; inner = [shared, shared]; inner.append(inner)
                    root['inner'] = inner; root['again'] = shared; pair = (inner, shared); root['pair'] = pair
                    root['node'] = node
                    """))
        return cases
    }

    func testSizesMatchCPython311() throws {
        let python = try python311()
        let client = try heapd.connect()
        let cases = cases
        for item in cases {
            for reply in try client.pipeline(item.heapd) {
                if case .error = reply { XCTFail("\(item.name): \(reply)") }
            }
        }
        let program = """
            import gc, sys, weakref
            class Node: pass
            def deep(root):
                seen, stack, total = set(), [root], 0
                while stack:
                    o = stack.pop()
                    if id(o) in seen or isinstance(o, type): continue
                    seen.add(id(o)); total += sys.getsizeof(o)
                    stack.extend(gc.get_referents(o))
                    # A str-keyed dict's traversal visits only its values; its keys are objects it holds.
                    if isinstance(o, dict): stack.extend(o.keys())
                return total, len(seen)
            \(cases.map(\.python).joined(separator: "\n"))
            for name in sys.argv[1:]:
                o = globals()[name]
                print(name, sys.getsizeof(o), *deep(o))
            """
        let result = try ChildProcess.run(python, ["-c", program] + cases.map(\.name))
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, cases.count)
        for line in lines {
            let words = line.split(separator: " ").map(String.init)
            let name = words[0]
            let shallow = fields(try client.call("SIZEOF", name))
            XCTAssertEqual(shallow["python"], Int(words[1]), "sys.getsizeof(\(name))")
            XCTAssertGreaterThan(shallow["heapd"] ?? 0, 0, name)
            let deep = fields(try client.call("SIZEOF", name, "DEEP"))
            XCTAssertEqual(deep["python"], Int(words[2]), "deep size of \(name)")
            XCTAssertEqual(deep["objects"], Int(words[3]), "objects reachable from \(name)")
            XCTAssertGreaterThanOrEqual(deep["heapd"] ?? 0, shallow["heapd"] ?? .max, name)
        }
    }

    func testBadArgumentsAndTheObjectLimit() throws {
        let client = try heapd.connect()
        _ = try client.pipeline([["NEW", "a", "int", "1"], ["NEW", "b", "int", "2"], ["NEW", "l", "list", "a", "b"]])
        XCTAssertErrorCode(try client.call("SIZEOF", "missing"), "NOVAR")
        XCTAssertErrorCode(try client.call("SIZEOF", "#999999"), "NOOBJ")
        XCTAssertErrorCode(try client.call("SIZEOF", "l", "SHALLOW"), "SYNTAX")
        XCTAssertErrorCode(try client.call("SIZEOF", "l", "DEEP", "MAX", "0"), "SYNTAX")
        XCTAssertErrorCode(try client.call("SIZEOF", "l", "DEEP", "MAX"), "SYNTAX")
        XCTAssertErrorCode(try client.call("SIZEOF"), "ARGS")
        XCTAssertErrorCode(try client.call("SIZEOF", "l", "DEEP", "MAX", "2"), "LIMIT")
        XCTAssertEqual(fields(try client.call("SIZEOF", "l", "deep", "max", "3"))["objects"], 3)
    }

    /// DEEP over a list big enough to take many steps while another client appends to it and drops
    /// items: the walk must finish, count at least what never changed, and leave the heap consistent.
    func testDeepWalkWhileAnotherClientMutates() throws {
        let client = try heapd.connect()
        _ = try client.pipeline([["NEW", "g", "gen", "range", "300000"], ["LIST", "g.big", "g"]])
        let socket = heapd.socketPath
        let walked = LockedReply()
        // Two threads at once, each with its own connection: one mutates, the other walks.
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            guard let connection = try? HeapConnection(socketPath: socket) else { return }
            if index == 0 {
                for value in 0..<200 {
                    _ = try? connection.pipeline([
                        ["NEW", "x", "int", "\(value)"], ["APPEND", "g.big", "x"], ["POP", "y", "g.big"],
                    ])
                }
            } else {
                walked.set(try? connection.call("SIZEOF", "g.big", "DEEP"))
            }
        }
        let deep = fields(walked.get() ?? .null)
        XCTAssertGreaterThanOrEqual(deep["objects"] ?? 0, 300_000 - 200 + 1)
        XCTAssertLessThanOrEqual(deep["objects"] ?? .max, 300_000 + 200 + 1)
        try heapd.assertHeapConsistent()
    }
}

/// A reply handed from a worker thread to the test.
private final class LockedReply: @unchecked Sendable {
    private let lock = NSLock()
    private var reply: Reply?

    func set(_ value: Reply?) { lock.withLock { reply = value } }
    func get() -> Reply? { lock.withLock { reply } }
}
