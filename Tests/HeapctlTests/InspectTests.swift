import Foundation
import HeapdTesting
import XCTest

/// `heapctl inspect IMAGE`: a saved heap analysed with no daemon involved.
final class InspectTests: HeapctlTestCase {
    func testInspectShowsTypesRetainedSizesAndGarbageOfASavedHeap() throws {
        // g.owner alone holds a list of 2000 ints (what freeing it would free); g.cache and g.alias share
        // a dict (neither retains it alone); a cycle the session held becomes garbage in the image.
        let script = """
            NEW g.r gen range 2000
            LIST g.owner g.r
            DEL g.r
            NEW g.cache dict
            SETITEM g.cache k g.owner
            SET g.alias g.cache
            NEW c list
            APPEND c c
            SAVE inspect.image
            """
        let saved = try heapctl(stdin: script)
        XCTAssertEqual(saved.status, 0, saved.stderr)
        let image = heapd.directory + "/inspect.image"
        // The daemon is not needed: stop it first (its directory holds the image, so copy it out).
        let copy = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: copy) }
        try FileManager.default.copyItem(atPath: image, toPath: copy + "/inspect.image")

        let text = try runHeapctl(["inspect", copy + "/inspect.image", "--limit", "3"])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("2004 objects"), text.stdout)
        XCTAssertTrue(text.stdout.contains("unreachable (cyclic garbage) 1 objects"), text.stdout)
        XCTAssertNotNil(text.stdout.range(of: "\n  int +2000 +31\\.3 KiB\n", options: .regularExpression), text.stdout)

        let json = try runHeapctl(["inspect", "--json", copy + "/inspect.image"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let object = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], json.stdout)
        let globals = try XCTUnwrap(object["globals"] as? [[String: Any]])
        let retained = Dictionary(uniqueKeysWithValues: globals.map { ($0["name"] as! String, $0["retained"] as! Int) })
        // The list and its 2000 ints (16 bytes each), all retained by g.owner: freeing it frees them.
        XCTAssertGreaterThan(retained["g.owner"] ?? 0, 2000 * 16)
        // The shared dict retains only itself and its key: the list is reachable from g.owner too.
        XCTAssertLessThan(retained["g.cache"] ?? .max, 1000)
        XCTAssertEqual(retained["g.cache"], retained["g.alias"])
        XCTAssertEqual(object["unreachable_objects"] as? Int, 1)
        let garbage = try XCTUnwrap(object["unreachable_types"] as? [[String: Any]])
        XCTAssertEqual(garbage.first?["type"] as? String, "list", "the session's self-referencing list")
        XCTAssertTrue(text.stdout.contains("unreachable (cyclic garbage the next collection frees), by type:"))

        // CHAIN offline. Tracked containers come first in an image (the list @0, the dict @1, the
        // cycle @2), then the rest: the ints from @3.
        let chain = try runHeapctl(["inspect", copy + "/inspect.image", "--chain", "@3"])
        XCTAssertEqual(chain.status, 0, chain.stderr)
        XCTAssertEqual(chain.stdout, "g.owner (list) -> @3 (int)\n")
        let cycle = try runHeapctl(["inspect", copy + "/inspect.image", "--chain", "@2"])
        XCTAssertTrue(cycle.stdout.contains("cyclic garbage"), cycle.stdout)

        // A cut image is refused with exit 66 and the reason.
        var cut = try Data(contentsOf: URL(fileURLWithPath: copy + "/inspect.image"))
        cut.removeLast(100)
        try cut.write(to: URL(fileURLWithPath: copy + "/cut.image"))
        let refused = try runHeapctl(["inspect", copy + "/cut.image"])
        XCTAssertEqual(refused.status, 66)
        XCTAssertTrue(refused.stderr.contains("truncated"), refused.stderr)
    }

    /// `--graph @i`: the references around an object of an image, drawn as `heapctl graph` draws them on
    /// the live heap the image was saved from: the same nodes, figures and labelled edges, ids aside.
    func testInspectGraphDrawsTheImageAsTheLiveGraphDoes() throws {
        // Only globals (no session variable, whose references an image drops): g.bob, a Person whose
        // .team is a dict {'lead': (name, 7)}; a list holding itself and g.bob, dropped (garbage).
        let script = """
            NEW g.name str alice
            NEW g.seven int 7
            NEW g.pair tuple g.name g.seven
            NEW g.team dict
            SETITEM g.team lead g.pair
            NEW g.bob object Person
            SETATTR g.bob team g.team
            NEW g.loop list
            APPEND g.loop g.loop
            APPEND g.loop g.bob
            DEL g.seven g.pair g.team g.loop
            SAVE graph.image
            """
        let saved = try heapctl(stdin: script)
        XCTAssertEqual(saved.status, 0, saved.stderr)
        let image = heapd.directory + "/graph.image"
        let live = try jsonObject(heapctl("graph", "g.bob", "--json"))
        let backLive = try jsonObject(heapctl("graph", "g.bob", "--backrefs", "--json"))

        // g.bob's index in the image: the globals table names the object each global holds.
        let tables = try jsonObject(runHeapctl(["inspect", "--json", image]))
        let globals = try XCTUnwrap(tables["globals"] as? [[String: Any]])
        let bob = try XCTUnwrap(globals.first { $0["name"] as? String == "g.bob" }?["held_by"] as? String)
        XCTAssertTrue(bob.hasPrefix("@"), bob)

        let offline = try jsonObject(runHeapctl(["inspect", image, "--graph", bob, "--json"]))
        XCTAssertEqual(offline["object"] as? String, bob)
        try assertSameGraph(live, offline)
        // What the comparison covers: g.bob -> dict -> its key 'lead' and its value, the tuple -> str,
        // int; the instance's class name and attribute name are not followed.
        let nodes = try XCTUnwrap(offline["nodes"] as? [[String: Any]])
        XCTAssertEqual(nodes.map { $0["type"] as? String }, ["Person", "dict", "str", "tuple", "str", "int"])
        XCTAssertEqual(nodes.first?["repr"] as? String, "<Person object at \(bob)>")
        XCTAssertEqual(nodes[1]["repr"] as? String, "{'lead': (...)}", "one level deep, as GRAPH shows it")
        XCTAssertEqual(nodes[3]["repr"] as? String, "('alice', 7)")
        let edges = try XCTUnwrap(offline["edges"] as? [[String: Any]])
        XCTAssertEqual(edges.map { $0["label"] as? String }, [".team", "(key 'lead')", "['lead']", "[0]", "[1]"])
        let roots = try XCTUnwrap(offline["roots"] as? [[String: Any]])
        XCTAssertEqual(roots.map { $0["label"] as? String }, ["g.bob", "g.name"])

        // Referrers: the dropped list holds g.bob, and itself; no root reaches it.
        let back = try jsonObject(runHeapctl(["inspect", image, "--graph", bob, "--backrefs", "--json"]))
        try assertSameGraph(backLive, back)
        let referrers = try XCTUnwrap(back["nodes"] as? [[String: Any]])
        XCTAssertEqual(referrers.map { $0["type"] as? String }, ["Person", "list"])
        XCTAssertEqual(referrers.map { $0["reachable"] as? Bool }, [true, false])

        // DOT, to a file as -o writes it: the garbage list red and outlined as a cycle, the root a box.
        let dotFile = heapd.directory + "/bob.dot"
        let drawn = try runHeapctl(["inspect", image, "--graph", bob, "--backrefs", "--depth", "1", "-o", dotFile])
        XCTAssertEqual(drawn.status, 0, drawn.stderr)
        XCTAssertEqual(drawn.stdout, "")
        let dot = try String(contentsOfFile: dotFile, encoding: .utf8)
        XCTAssertTrue(dot.hasPrefix("digraph heapd {"), dot)
        XCTAssertTrue(dot.contains("heapd: referrers of \(bob)"), dot)
        let loop = try XCTUnwrap(referrers.last?["id"] as? String)
        XCTAssertTrue(dot.contains("\"\(loop)\" -> \"\(bob)\" [label=\"[1]\""), dot)
        XCTAssertTrue(dot.contains("\"\(loop)\" -> \"\(loop)\" [label=\"[0]\", color=\"#e67e22\"]"), dot)
        XCTAssertNotNil(
            dot.range(of: "\"\(loop)\" \\[label=[^\n]*fillcolor=\"#f28b82\"", options: .regularExpression), dot)
        XCTAssertTrue(dot.contains("label=\"g.bob\"];"), dot)

        // Mistakes: an object the image does not have, a format -o cannot write, -o without a graph.
        let missing = try runHeapctl(["inspect", image, "--graph", "@999"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("has no @999"), missing.stderr)
        XCTAssertEqual(try runHeapctl(["inspect", image, "--graph", bob, "-o", "x.jpg"]).status, 64)
        XCTAssertEqual(try runHeapctl(["inspect", image, "-o", "x.dot"]).status, 64)
        XCTAssertEqual(try runHeapctl(["inspect", image, "--graph", "bob"]).status, 64)
    }

    private func jsonObject(_ result: ProcessResult, file: StaticString = #filePath, line: UInt = #line) throws
        -> [String: Any]
    {
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        let parsed = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        return try XCTUnwrap(parsed as? [String: Any], result.stdout, file: file, line: line)
    }

    /// The live graph's nodes and edges are the image's, matched by position (`#17` is `@3`).
    private func assertSameGraph(_ live: [String: Any], _ offline: [String: Any]) throws {
        let liveNodes = try XCTUnwrap(live["nodes"] as? [[String: Any]])
        let offlineNodes = try XCTUnwrap(offline["nodes"] as? [[String: Any]])
        XCTAssertEqual(liveNodes.count, offlineNodes.count)
        var names: [String: String] = [:]
        func ids(_ text: String) -> String {
            text.replacingOccurrences(of: "[#@][0-9]+", with: "#", options: .regularExpression)
        }
        for (liveNode, offlineNode) in zip(liveNodes, offlineNodes) {
            names[liveNode["id"] as! String] = offlineNode["id"] as? String
            for field in ["type", "refcount", "state", "reachable", "len", "bytes"] {
                XCTAssertEqual("\(liveNode[field] ?? "-")", "\(offlineNode[field] ?? "-")", "\(field) of \(liveNode)")
            }
            XCTAssertEqual(ids(liveNode["repr"] as! String), ids(offlineNode["repr"] as! String))
        }
        func edges(_ graph: [String: Any], _ name: (String) -> String) throws -> [String] {
            try XCTUnwrap(graph["edges"] as? [[String: Any]]).map {
                "\(name($0["from"] as! String)) -> \(name($0["to"] as! String)) \($0["label"]!)"
            }
        }
        XCTAssertEqual(try edges(live) { names[$0] ?? $0 }, try edges(offline) { $0 })
        let liveRoots = try XCTUnwrap(live["roots"] as? [[String: Any]]).map {
            "\($0["label"]!) \(names[$0["to"] as! String] ?? "")"
        }
        let offlineRoots = try XCTUnwrap(offline["roots"] as? [[String: Any]]).map { "\($0["label"]!) \($0["to"]!)" }
        XCTAssertEqual(liveRoots, offlineRoots)
        XCTAssertEqual(live["left_out"] as? Int, offline["left_out"] as? Int)
    }
}
