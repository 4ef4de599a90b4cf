import Foundation
import HeapClient
import HeapProtocol
import HeapdTesting
import XCTest

/// The views that find leaks — TYPES, GROWTH, CHAIN, GRAPH, DOCTOR — against the real heapd; every test
/// ends with DEBUG VERIFY (the walks must leave every count as it was).
final class DiagnosticIntegrationTests: HeapdTestCase {
    private func id(_ client: HeapConnection, _ name: String) throws -> String {
        guard case .integer(let value) = try client.call("ID", name) else { throw XCTSkip("ID failed") }
        return "#\(value)"
    }

    private func rows(_ reply: Reply) -> [[Reply]] {
        guard case .array(let items) = reply else { return [] }
        return items.compactMap { if case .array(let fields) = $0 { fields } else { nil } }
    }

    private func census(_ client: HeapConnection, _ extra: String...) throws -> [String: (Int, Int)] {
        var result: [String: (Int, Int)] = [:]
        for row in rows(try client.call(["TYPES"] + extra)) {
            guard let name = bulkText(row[0]), case .integer(let count) = row[1], case .integer(let bytes) = row[2]
            else { continue }
            result[name] = (Int(count), Int(bytes))
        }
        return result
    }

    func testTypesCountsWhatWasCreated() throws {
        let client = try heapd.connect()
        _ = try client.pipeline([
            ["NEW", "a", "list"], ["NEW", "b", "list"], ["NEW", "c", "list"], ["NEW", "d", "dict"],
            ["NEW", "e", "dict"], ["NEW", "n1", "object", "Node"], ["NEW", "n2", "object", "Node"],
            ["NEW", "n3", "object", "Node"], ["NEW", "n4", "object", "Node"], ["NEW", "big", "bytes", "1000"],
        ])
        let types = try census(client)
        XCTAssertEqual(types["list"]?.0, 3)
        XCTAssertEqual(types["dict"]?.0, 2)
        XCTAssertEqual(types["Node"]?.0, 4)
        XCTAssertEqual(types["str"]?.0, 4, "each instance's class name is a str of its own")
        XCTAssertEqual(types["bytes"]?.0, 1)
        XCTAssertGreaterThanOrEqual(types["bytes"]?.1 ?? 0, 1000)
        XCTAssertEqual(types.values.map(\.0).reduce(0, +), Int(try info(client, "objects")["objects"]!)!)
        // Most numerous first, ties by name: Node (4) before str (4), then list (3).
        let limited = rows(try client.call("TYPES", "LIMIT", "3")).map { bulkText($0[0]) }
        XCTAssertEqual(limited, ["Node", "str", "list"])
        XCTAssertErrorCode(try client.call("TYPES", "LIMIT", "0"), "SYNTAX")
        XCTAssertErrorCode(try client.call("TYPES", "LIMIT"), "SYNTAX")
        XCTAssertErrorCode(try client.call("TYPES", "COUNT", "3"), "SYNTAX")
        XCTAssertErrorCode(try client.call("TYPES", "LIMIT", "3", "4"), "SYNTAX")
        XCTAssertErrorCode(try client.call("TYPES", "LIMIT", "3", "RETAINED", "4"), "ARGS")
    }

    /// g.root -> dict -> Node .payload -> list [int], with sizes worked out from TYPES' bytes: freeing
    /// each link frees everything after it (nothing else holds them), and a type's retained bytes count
    /// its topmost objects only.
    func testRetainedSizesOnTypesAndChain() throws {
        let client = try heapd.connect()
        _ = try client.pipeline([
            ["NEW", "g.root", "list"], ["NEW", "d", "dict"], ["NEW", "o", "object", "Node"], ["NEW", "p", "list"],
            ["NEW", "i", "int", "7"], ["APPEND", "p", "i"], ["SETATTR", "o", "payload", "p"],
            ["SETITEM", "d", "k", "o"], ["APPEND", "g.root", "d"],
        ])
        let p = try id(client, "p")
        XCTAssertEqual(try client.call("DEL", "d", "o", "p", "i"), .integer(4))
        // Blocks: lists 32, int 16, strs 16 ('Node', 'k') and 32 ('payload'), dict and Node 32 + a 112-byte table.
        XCTAssertEqual(
            rows(try client.call("CHAIN", p, "RETAINED")).map { $0.count == 4 ? $0[3] : .null },
            [.integer(432), .integer(400), .integer(240), .integer(48)])
        XCTAssertEqual(rows(try client.call("CHAIN", p)).map(\.count), [3, 3, 3, 3], "without RETAINED, as before")
        XCTAssertEqual(
            rows(try client.call("CHAIN", p, "MAX", "10", "RETAINED")).map { $0.count == 4 ? $0[3] : .null },
            [.integer(432), .integer(400), .integer(240), .integer(48)])
        var retained: [String: Reply] = [:]
        for row in rows(try client.call("TYPES", "RETAINED")) where row.count == 4 {
            retained[bulkText(row[0]) ?? ""] = row[3]
        }
        // list: g.root dominates p; str: 'Node' (Node's), 'payload' (Node's table), 'k' (dict's) are
        // dominated by no str; int: 16.
        XCTAssertEqual(
            retained,
            [
                "list": .integer(432), "dict": .integer(400), "Node": .integer(240), "str": .integer(64),
                "int": .integer(16),
            ])
        XCTAssertEqual(rows(try client.call("TYPES", "LIMIT", "1", "RETAINED")).map(\.count), [4])
        // A variable named RETAINED is still CHAIN's object.
        _ = try client.call("NEW", "RETAINED", "list")
        XCTAssertEqual(rows(try client.call("CHAIN", "RETAINED")).count, 1)
    }

    func testGrowthReportsThenStopsReporting() throws {
        let client = try heapd.connect()
        _ = try client.pipeline([["NEW", "a", "list"], ["NEW", "b", "list"]])
        let first = rows(try client.call("GROWTH"))
        XCTAssertEqual(first.count, 1)
        XCTAssertEqual(first.first, [.bulk("list"), .integer(2), .integer(2)], "the first call reports everything")
        XCTAssertEqual(try client.call("GROWTH"), .array([]), "nothing rose above its peak")
        _ = try client.pipeline([["NEW", "c", "list"], ["NEW", "d", "list"], ["NEW", "e", "list"]])
        XCTAssertEqual(rows(try client.call("GROWTH")), [[.bulk("list"), .integer(5), .integer(3)]])
        XCTAssertEqual(try client.call("DEL", "c", "d"), .integer(2))
        XCTAssertEqual(try client.call("NEW", "f", "list"), .simple("OK"))
        XCTAssertEqual(try client.call("GROWTH"), .array([]), "4 lists is below the peak of 5")
        // The peaks are server-wide: another client sees no growth either.
        let other = try heapd.connect()
        XCTAssertEqual(try other.call("GROWTH", "LIMIT", "1"), .array([]))
    }

    func testChainThroughListDictAttributeToAGlobalAndALocal() throws {
        let owner = try heapd.connect()
        _ = try owner.pipeline([
            ["NEW", "g.root", "list"], ["NEW", "d", "dict"], ["NEW", "o", "object", "Node"], ["NEW", "t", "list"],
            ["SETATTR", "o", "payload", "t"], ["SETITEM", "d", "k", "o"], ["APPEND", "g.root", "d"],
        ])
        let t = try id(owner, "t")
        let (root, dict, node) = (try id(owner, "g.root"), try id(owner, "d"), try id(owner, "o"))
        XCTAssertEqual(try owner.call("DEL", "d", "o"), .integer(2))
        XCTAssertEqual(
            rows(try owner.call("CHAIN", t)), [[.bulk("t"), .bulk("list"), .bulk(t)]], "its own variable is closest")
        XCTAssertEqual(try owner.call("DEL", "t"), .integer(1))
        let viaGlobal: [[Reply]] = [
            [.bulk("g.root"), .bulk("list"), .bulk(root)], [.bulk("[0]"), .bulk("dict"), .bulk(dict)],
            [.bulk("['k']"), .bulk("Node"), .bulk(node)], [.bulk(".payload"), .bulk("list"), .bulk(t)],
        ]
        XCTAssertEqual(rows(try owner.call("CHAIN", t)), viaGlobal)

        // A local of another session that holds the dict is one step closer than the global.
        XCTAssertNotNil(bulkText(try owner.call("GETITEM", "dd", "g.root", "0")))
        let other = try heapd.connect()
        let chain = rows(try other.call("CHAIN", t))
        XCTAssertEqual(chain.count, 3)
        let label = bulkText(chain[0][0]) ?? ""
        XCTAssertTrue(label.hasPrefix("client ") && label.hasSuffix(": dd"), label)
        XCTAssertEqual(Array(chain.dropFirst()), Array(viaGlobal.dropFirst(2)))
        XCTAssertEqual(bulkText(rows(try owner.call("CHAIN", t))[0][0]), "dd")
        // Inside a function frame, the outer frame's variable is labelled with its frame.
        XCTAssertEqual(try owner.call("SCOPE", "PUSH", "work"), .integer(1))
        XCTAssertEqual(bulkText(rows(try owner.call("CHAIN", t))[0][0]), "dd in <session>")
        XCTAssertEqual(try owner.call("SCOPE", "POP"), .integer(0))

        XCTAssertErrorCode(try owner.call("CHAIN", "nope"), "NOVAR")
        XCTAssertErrorCode(try owner.call("CHAIN", "#99999999"), "NOOBJ")
        XCTAssertErrorCode(try owner.call("CHAIN", "#x"), "SYNTAX")
        XCTAssertErrorCode(try owner.call("CHAIN"), "ARGS")
    }

    func testChainOfUnreachableGarbageIsNil() throws {
        let client = try heapd.connect()
        _ = try client.pipeline([
            ["NEW", "x", "list"], ["NEW", "y", "list"], ["APPEND", "x", "y"], ["APPEND", "y", "x"],
        ])
        let x = try id(client, "x")
        XCTAssertEqual(try client.call("DEL", "x", "y"), .integer(2))
        XCTAssertEqual(try client.call("CHAIN", x), .null)
        XCTAssertEqual(try client.call("GC", "COLLECT"), .integer(2))
        XCTAssertErrorCode(try client.call("CHAIN", x), "NOOBJ")
    }

    func testGraphMarksATwoObjectCycleUnreachableAfterDel() throws {
        let client = try heapd.connect()
        _ = try client.pipeline([
            ["NEW", "x", "list"], ["NEW", "y", "list"], ["APPEND", "x", "y"], ["APPEND", "y", "x"],
        ])
        let (x, y) = (try id(client, "x"), try id(client, "y"))
        func graph(_ args: String...) throws -> (nodes: [[Reply]], edges: [[Reply]], roots: [[Reply]], leftOut: Reply) {
            guard case .array(let parts) = try client.call(["GRAPH"] + args), parts.count == 4 else {
                XCTFail("GRAPH reply")
                return ([], [], [], .null)
            }
            return (rows(parts[0]), rows(parts[1]), rows(parts[2]), parts[3])
        }
        let before = try graph(x)
        XCTAssertEqual(before.nodes.map { bulkText($0[0]) }, [x, y])
        XCTAssertEqual(before.nodes.map { $0[5] }, [.integer(1), .integer(1)], "reachable while named")
        XCTAssertEqual(before.nodes[0][1], .bulk("list"))
        XCTAssertEqual(before.nodes[0][2], .integer(2), "x and y's slot")
        XCTAssertEqual(before.nodes[0][3], .bulk("gen0"))
        XCTAssertEqual(Set(before.roots.map { bulkText($0[0]) ?? "" }), ["x", "y"])

        XCTAssertEqual(try client.call("DEL", "x", "y"), .integer(2))
        let after = try graph(x)
        XCTAssertEqual(after.nodes.map { $0[5] }, [.integer(0), .integer(0)], "garbage: no root reaches them")
        XCTAssertEqual(after.nodes[0][4], .bulk("[[...]]"), "repr one level deep")
        XCTAssertEqual(after.nodes[0][6], .integer(1), "len(x)")
        XCTAssertEqual(after.nodes[0][7], .integer(32), "a list with its two items inline: one 32-byte block")
        XCTAssertEqual(
            Set(after.edges.map { $0.compactMap(bulkText).joined(separator: " ") }), ["\(x) \(y) [0]", "\(y) \(x) [0]"])
        XCTAssertEqual(after.roots.count, 0)
        XCTAssertEqual(after.leftOut, .integer(0))

        let back = try graph(x, "BACKREFS", "DEPTH", "1")
        XCTAssertEqual(back.nodes.map { bulkText($0[0]) }, [x, y])
        let capped = try graph(x, "MAX", "1")
        XCTAssertEqual(capped.nodes.count, 1)
        XCTAssertEqual(capped.leftOut, .integer(1))
        XCTAssertEqual(try graph(x, "DEPTH", "0").nodes.count, 1)

        XCTAssertErrorCode(try client.call("GRAPH", x, "DEPTH"), "SYNTAX")
        XCTAssertErrorCode(try client.call("GRAPH", x, "DEPTH", "-1"), "SYNTAX")
        XCTAssertErrorCode(try client.call("GRAPH", x, "MAX", "0"), "SYNTAX")
        XCTAssertErrorCode(try client.call("GRAPH", x, "SIDEWAYS"), "SYNTAX")
        XCTAssertErrorCode(try client.call("GRAPH", "nope"), "NOVAR")
        XCTAssertErrorCode(try client.call("GRAPH"), "ARGS")
        XCTAssertEqual(try client.call("GC", "COLLECT"), .integer(2))
        XCTAssertErrorCode(try client.call("GRAPH", x), "NOOBJ")
    }

    func testDoctorReportsGarbageThenAllClearAfterCollect() throws {
        let client = try heapd.connect()
        let clear = bulkText(try client.call("DOCTOR")) ?? ""
        XCTAssertTrue(clear.hasPrefix("Hi Sam, I can't find any memory issue"), clear)
        _ = try client.pipeline([
            ["NEW", "x", "list"], ["NEW", "y", "list"], ["APPEND", "x", "y"], ["APPEND", "y", "x"],
        ])
        let (x, y) = (try id(client, "x"), try id(client, "y"))
        XCTAssertEqual(try client.call("DEL", "x", "y"), .integer(2))
        let report = bulkText(try client.call("DOCTOR")) ?? ""
        XCTAssertTrue(report.hasPrefix("Sam, I detected a few issues"), report)
        XCTAssertTrue(report.contains("Cyclic garbage: 2 objects"), report)
        XCTAssertTrue(report.contains("1 reference cycle holds them"), report)
        XCTAssertTrue(report.contains("2 objects (2 list): list \(x), list \(y)"), report)
        XCTAssertFalse(report.contains("Automatic collection is off"), report)
        XCTAssertEqual(try client.call("GC", "COLLECT"), .integer(2))
        XCTAssertTrue((bulkText(try client.call("DOCTOR")) ?? "").hasPrefix("Hi Sam"))

        // With automatic collection off, the doctor says so.
        XCTAssertEqual(try client.call("GC", "DISABLE"), .simple("OK"))
        _ = try client.pipeline([["NEW", "s", "list"], ["APPEND", "s", "s"], ["DEL", "s"]])
        let disabled = bulkText(try client.call("DOCTOR")) ?? ""
        XCTAssertTrue(disabled.contains("Cyclic garbage: 1 object"), disabled)
        XCTAssertTrue(disabled.contains("Automatic collection is off (GC DISABLE)"), disabled)
        XCTAssertEqual(try client.call("GC", "ENABLE"), .simple("OK"))
        XCTAssertEqual(try client.call("GC", "COLLECT"), .integer(1))
        XCTAssertTrue((bulkText(try client.call("DOCTOR")) ?? "").hasPrefix("Hi Sam"))
        XCTAssertErrorCode(try client.call("DOCTOR", "NOW"), "ARGS")
    }

    func testDoctorReportsTheBigGlobalUnlessSomethingElseHoldsIt() throws {
        let client = try heapd.connect()
        XCTAssertEqual(try client.call("NEW", "g.big", "bytes", "2000000"), .simple("OK"))
        let report = bulkText(try client.call("DOCTOR")) ?? ""
        XCTAssertTrue(report.contains("Big global: g.big alone keeps 1 object (1.9 MiB, "), report)
        XCTAssertTrue(report.contains("DEL g.big"), report)
        // Held by a variable too, it is no longer the global alone that keeps it.
        XCTAssertEqual(try client.call("SET", "alias", "g.big"), .simple("OK"))
        XCTAssertTrue((bulkText(try client.call("DOCTOR")) ?? "").hasPrefix("Hi Sam"))
        XCTAssertEqual(try client.call("DEL", "alias", "g.big"), .integer(2))
        XCTAssertTrue((bulkText(try client.call("DOCTOR")) ?? "").hasPrefix("Hi Sam"))
    }

    /// Below the fixed figures (1 MiB, 10,000 objects), a global is still reported when it alone keeps
    /// more than half of the heap's bytes alive; once another global holds more, only that one is.
    func testDoctorReportsAGlobalHoldingMostOfTheHeap() throws {
        let client = try heapd.connect()
        XCTAssertEqual(try client.call("NEW", "g.cache", "list"), .simple("OK"))
        for _ in 0..<100 {
            _ = try client.pipeline([["NEW", "p", "bytes", "2000"], ["APPEND", "g.cache", "p"], ["DEL", "p"]])
        }
        let report = bulkText(try client.call("DOCTOR")) ?? ""
        XCTAssertTrue(report.contains("Big global: g.cache alone keeps 101 objects ("), report)
        XCTAssertTrue(report.contains("% of the heap) alive"), report)
        XCTAssertEqual(try client.call("NEW", "g.other", "bytes", "300000"), .simple("OK"))
        let shared = bulkText(try client.call("DOCTOR")) ?? ""
        XCTAssertFalse(shared.contains("g.cache alone"), "g.cache holds less than half now: \(shared)")
        XCTAssertTrue(shared.contains("Big global: g.other alone keeps 1 object ("), shared)
        XCTAssertEqual(try client.call("DEL", "g.cache", "g.other"), .integer(2))
    }

    func testDoctorReportsLegacyFinalizersAndUncollectableGarbage() throws {
        let client = try heapd.connect()
        _ = try client.pipeline([
            ["NEW", "z", "object", "Zed"], ["FINALIZER", "z", "LEGACY"], ["SETATTR", "z", "me", "z"],
        ])
        let z = try id(client, "z")
        XCTAssertEqual(try client.call("DEL", "z"), .integer(1))
        let before = bulkText(try client.call("DOCTOR")) ?? ""
        XCTAssertTrue(before.contains("Legacy finalizers in cycles: Zed \(z) has a legacy finalizer"), before)
        XCTAssertTrue(before.contains("1 object (1 Zed): Zed \(z)"), before)
        XCTAssertEqual(try client.call("GC", "COLLECT"), .integer(1))
        let after = bulkText(try client.call("DOCTOR")) ?? ""
        XCTAssertTrue(after.contains("Uncollectable garbage: gc.garbage holds 1 object (Zed \(z))"), after)
        XCTAssertFalse(after.contains("Cyclic garbage"), after)
        XCTAssertEqual(rows(try client.call("CHAIN", z)), [[.bulk("gc.garbage[0]"), .bulk("Zed"), .bulk(z)]])
    }
}
