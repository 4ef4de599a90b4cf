import Foundation
import HeapClient
import HeapdTesting
import XCTest

/// heapctl's views that find leaks — types, growth, chain, graph, top, doctor — on deterministic heaps
/// (object ids are normalized to `#N`).
final class LeakViewTests: HeapctlTestCase {
    private func setUp(_ commands: [[String]]) throws {
        let client = try HeapConnection(socketPath: heapd.socketPath, timeout: 30)
        defer { client.close() }
        for reply in try client.pipeline(commands) {
            if case .error(let code, let message) = reply { XCTFail("\(code) \(message)") }
        }
    }

    private func normalized(_ text: String) -> String {
        text.replacingOccurrences(of: #"#[0-9]+"#, with: "#N", options: .regularExpression)
    }

    /// A garbage cycle: two lists that reference each other, their names dropped; returns the first's id.
    private func makeGarbageCycle() throws -> String {
        let client = try HeapConnection(socketPath: heapd.socketPath, timeout: 30)
        defer { client.close() }
        _ = try client.pipeline([
            ["NEW", "x", "list"], ["NEW", "y", "list"], ["APPEND", "x", "y"], ["APPEND", "y", "x"],
        ])
        guard case .integer(let id) = try client.call("ID", "x") else { throw XCTSkip("ID failed") }
        _ = try client.call("DEL", "x", "y")
        return "#\(id)"
    }

    func testTypesAndGrowthPrintAlignedTables() throws {
        try setUp([
            ["NEW", "g.a", "list"], ["NEW", "g.b", "list"], ["NEW", "g.c", "list"], ["NEW", "g.n", "object", "Node"],
        ])
        let types = try heapctl("types")
        XCTAssertEqual(types.status, 0, types.stderr)
        XCTAssertEqual(
            types.stdout,
            """
            #  type   objects  bytes
            1  list         3   96 B
            2  Node         1   32 B
            3  str          1   16 B
               total        5  144 B

            """)
        XCTAssertEqual(
            try heapctl("types", "--limit", "1").stdout,
            """
            #  type            objects  bytes
            1  list                  3   96 B
               … 2 more types
               total                 5  144 B

            """)
        // The upper-case command is heapd's own, printed as its reply.
        XCTAssertEqual(try heapctl("TYPES", "LIMIT", "1").stdout, "list\n3\n96\n")

        let growth = try heapctl("growth")
        XCTAssertEqual(
            growth.stdout,
            """
            type  objects  growth
            list        3      +3
            Node        1      +1
            str         1      +1

            """)
        XCTAssertEqual(try heapctl("growth").stdout, "no type grew above its peak\n")
        XCTAssertEqual(try heapctl("types", "--limit", "0").status, 64)
    }

    func testChainPrintsOneLineFromTheRoot() throws {
        try setUp([
            ["NEW", "g.cache", "list"], ["NEW", "d", "dict"], ["NEW", "o", "object", "Node"], ["NEW", "leak", "list"],
            ["SETATTR", "o", "held", "leak"], ["SETITEM", "d", "k", "o"], ["APPEND", "g.cache", "d"],
        ])
        let client = try HeapConnection(socketPath: heapd.socketPath, timeout: 30)
        defer { client.close() }
        // Each heapctl run is a new session: name the object by its id.
        _ = try client.call("GETITEM", "dd", "g.cache", "0")
        _ = try client.call("GETITEM", "node", "dd", "k")
        _ = try client.call("GETATTR", "leak", "node", "held")
        guard case .integer(let id) = try client.call("ID", "leak") else { return XCTFail("ID") }
        _ = try client.call("DEL", "dd", "node", "leak")

        let chain = try heapctl("chain", "#\(id)")
        XCTAssertEqual(chain.status, 0, chain.stderr)
        XCTAssertEqual(
            normalized(chain.stdout), "g.cache -> list #N [0] -> dict #N ['k'] -> Node #N .held -> list #N\n")
        XCTAssertEqual(try heapctl("chain", "g.cache").stdout.hasPrefix("g.cache -> list #"), true)

        let garbage = try makeGarbageCycle()
        let unreachable = try heapctl("chain", garbage)
        XCTAssertEqual(unreachable.status, 1)
        XCTAssertEqual(
            unreachable.stdout,
            "\(garbage) is not reachable from any variable, global or gc.garbage: it is cyclic garbage that the"
                + " next collection frees (GC COLLECT)\n")

        let missing = try heapctl("chain", "g.nope")
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderr, "heapctl: CHAIN g.nope: NOVAR no variable named 'g.nope'\n")
        _ = try client.call("GC", "COLLECT")
    }

    func testTypesAndChainShowRetainedSizes() throws {
        let client = try HeapConnection(socketPath: heapd.socketPath, timeout: 30)
        defer { client.close() }
        _ = try client.pipeline([
            ["NEW", "g.root", "list"], ["NEW", "d", "dict"], ["NEW", "o", "object", "Node"], ["NEW", "p", "list"],
            ["NEW", "i", "int", "7"], ["APPEND", "p", "i"], ["SETATTR", "o", "payload", "p"],
            ["SETITEM", "d", "k", "o"], ["APPEND", "g.root", "d"],
        ])
        guard case .integer(let id) = try client.call("ID", "p") else { return XCTFail("ID") }
        _ = try client.call("DEL", "d", "o", "p", "i")

        let chain = try heapctl("chain", "--retained", "#\(id)")
        XCTAssertEqual(chain.status, 0, chain.stderr)
        XCTAssertEqual(
            normalized(chain.stdout),
            "g.root -> list #N (retains 432 B) [0] -> dict #N (retains 400 B) ['k'] -> Node #N (retains 240 B)"
                + " .payload -> list #N (retains 48 B)\n")
        let json = try heapctl("chain", "--retained", "--json", "#\(id)")
        XCTAssertTrue(json.stdout.contains(##""type":"Node","id":"#"##), json.stdout)
        XCTAssertTrue(json.stdout.contains(#""retained":240}"#), json.stdout)

        let types = try heapctl("types", "--retained")
        XCTAssertEqual(types.status, 0, types.stderr)
        XCTAssertEqual(
            types.stdout,
            """
            #  type   objects  bytes  retained
            1  str          3   64 B      64 B
            2  list         2   64 B     432 B
            3  Node         1  144 B     240 B
            4  dict         1  144 B     400 B
            5  int          1   16 B      16 B
               total        8  432 B

            """)
        let typesJSON = try heapctl("types", "--retained", "--json", "--limit", "1")
        XCTAssertTrue(typesJSON.stdout.contains(#""bytes":64,"retained":64}"#), typesJSON.stdout)
    }

    func testDoctorReportsGarbageThenTheAllClear() throws {
        _ = try makeGarbageCycle()
        let report = try heapctl("doctor")
        XCTAssertEqual(report.status, 0, report.stderr)
        XCTAssertEqual(
            normalized(report.stdout),
            """
            Sam, I detected a few issues in this heap:

             * Cyclic garbage: 2 objects (64 B) are alive but unreachable from any variable, global or gc.garbage. \
            Reference counting cannot free them; the next collection of their generation will (GC COLLECT frees them now).
               1 reference cycle holds them:
               - 2 objects (2 list): list #N, list #N

            I'm here to keep you safe, Sam. I want to help you.

            """)
        XCTAssertEqual(try heapctl("GC", "COLLECT").stdout, "2\n")
        XCTAssertEqual(
            try heapctl("doctor").stdout,
            "Hi Sam, I can't find any memory issue in this heap: no cyclic garbage waiting for a collection, nothing"
                + " uncollectable in gc.garbage, no global keeping a large part of the heap alive on its own. I can"
                + " only account for what occurs on this base.\n")
    }

    func testGraphIsDOTThatGraphvizReads() throws {
        try setUp([["NEW", "g.keep", "list"], ["APPEND", "g.keep", "g.keep"]])
        let garbage = try makeGarbageCycle()
        let dot = try heapctl("graph", garbage)
        XCTAssertEqual(dot.status, 0, dot.stderr)
        XCTAssertTrue(dot.stdout.hasPrefix("digraph heapd {"), dot.stdout)
        XCTAssertTrue(
            dot.stdout.contains("\"\(garbage)\" [label=\"list \(garbage)\\n[[...]]\\nlen 1, 32 B\\nrefcount 1, gen0\""),
            "type, id, repr, length and size, refcount and generation: \(dot.stdout)")
        XCTAssertTrue(dot.stdout.contains("fillcolor=\"#f28b82\""), "garbage is red: \(dot.stdout)")
        XCTAssertTrue(dot.stdout.contains("label=\"[0]\""), dot.stdout)
        let reachable = try heapctl("graph", "g.keep", "--depth", "1")
        XCTAssertTrue(reachable.stdout.contains("label=\"g.keep\""), "the root has a box: \(reachable.stdout)")
        XCTAssertTrue(reachable.stdout.contains("fillcolor=\"#ffd8a8\""), "a self-loop is a cycle: \(reachable.stdout)")
        XCTAssertFalse(reachable.stdout.contains("#f28b82"))

        guard let dotProgram = BuildProducts.onPath("dot") else {
            throw XCTSkip("Graphviz's dot is not installed (scripts/install-deps.sh installs graphviz)")
        }
        let source = try writeFile("cycle.dot", dot.stdout)
        let svg = try ChildProcess.run(
            dotProgram, ["-Tsvg", source], environment: heapctlEnvironment(), directory: heapd.directory)
        XCTAssertEqual(svg.status, 0, svg.stderr)
        XCTAssertTrue(svg.stdout.contains("<svg"), svg.stdout)
        XCTAssertEqual(svg.stderr, "")

        let file = heapd.directory + "/keep.svg"
        let rendered = try heapctl("graph", "g.keep", "--backrefs", "--max", "5", "-o", file)
        XCTAssertEqual(rendered.status, 0, rendered.stderr)
        XCTAssertTrue((try String(contentsOfFile: file, encoding: .utf8)).contains("<svg"))
        _ = try heapctl("GC", "COLLECT")
    }

    /// A wide container shows ten of its references and one "… N more" box (objgraph's too_many); the
    /// objects only the hidden references led to are left out; `-o` refuses a format it cannot write.
    func testGraphCutsWideContainers() throws {
        try setUp(
            [["NEW", "g.wide", "list"]] + (0..<30).flatMap { _ in [["NEW", "x", "list"], ["APPEND", "g.wide", "x"]] })
        let dot = try heapctl("graph", "g.wide", "--depth", "1")
        XCTAssertEqual(dot.status, 0, dot.stderr)
        XCTAssertTrue(dot.stdout.contains("label=\"… 20 more\""), dot.stdout)
        let arrows = dot.stdout.split(separator: "\n").filter { $0.contains(" -> ") && !$0.contains("root ") }
        XCTAssertEqual(arrows.count, 11, "ten references and the box: \(dot.stdout)")
        XCTAssertEqual(dot.stdout.components(separatedBy: "[label=\"list #").count - 1, 11, "the list and ten items")
        let all = try heapctl("graph", "g.wide", "--depth", "1", "--too-many", "50")
        XCTAssertFalse(all.stdout.contains("more\""), all.stdout)
        XCTAssertEqual(all.stdout.components(separatedBy: "[label=\"list #").count - 1, 31)

        let jpeg = try heapctl("graph", "g.wide", "-o", heapd.directory + "/wide.jpg")
        XCTAssertEqual(jpeg.status, 64, "a command-line mistake")
        XCTAssertTrue(jpeg.stderr.contains(".svg, .png or .pdf"), jpeg.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: heapd.directory + "/wide.jpg"))
        let text = try heapctl("graph", "g.wide", "-o", heapd.directory + "/wide.dot")
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue((try String(contentsOfFile: heapd.directory + "/wide.dot", encoding: .utf8)).hasPrefix("digraph"))
    }

    /// Every view takes --json before or after its name and prints one line of JSON with named fields.
    func testViewsPrintJSONWithNamedFields() throws {
        try setUp([["NEW", "g.keep", "list"], ["NEW", "x", "list"], ["APPEND", "g.keep", "x"]])
        func object(_ words: String...) throws -> [String: Any] {
            let result = try runHeapctl(["--socket", heapd.socketPath] + words)
            XCTAssertEqual(result.status, 0, "\(words): \(result.stderr)")
            XCTAssertEqual(result.stdout.filter { $0 == "\n" }.count, 1, "one line: \(result.stdout)")
            let parsed = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
            return try XCTUnwrap(parsed as? [String: Any], result.stdout)
        }
        for words in [["types", "--json"], ["--json", "types"]] {
            let result = try runHeapctl(["--socket", heapd.socketPath] + words)
            let types = try XCTUnwrap(
                (try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])?["types"]
                    as? [[String: Any]], result.stdout)
            XCTAssertEqual(types.first?["type"] as? String, "list")
            XCTAssertEqual(types.first?["objects"] as? Int, 2)
            XCTAssertEqual(types.first?["rank"] as? Int, 1)
        }
        XCTAssertEqual((try object("types", "--json")["total"] as? [String: Any])?["objects"] as? Int, 2)
        let growth = try object("growth", "--json")["growth"] as? [[String: Any]]
        XCTAssertEqual(growth?.first?["growth"] as? Int, 2)
        let chain = try object("chain", "g.keep", "--json")["chain"] as? [[String: Any]]
        XCTAssertEqual(chain?.first?["how"] as? String, "g.keep")
        let graph = try object("graph", "g.keep", "--json")
        XCTAssertEqual((graph["nodes"] as? [[String: Any]])?.count, 2)
        XCTAssertEqual((graph["edges"] as? [[String: Any]])?.first?["label"] as? String, "[0]")
        XCTAssertEqual(try object("doctor", "--json")["clear"] as? Bool, true)
        let info = try object("--json", "INFO", "gc")
        XCTAssertNotNil((info["gc"] as? [String: Any])?["gc_collections_total"] as? Int, "\(info)")
        XCTAssertEqual(try heapctl("top", "--json").status, 64)
    }

    func testTopPrintsTheRequestedFrames() throws {
        try setUp([["NEW", "g.a", "list"]])
        let top = try heapctl("top", "--iterations", "2", "--interval", "0.1")
        XCTAssertEqual(top.status, 0, top.stderr)
        let frames = top.stdout.components(separatedBy: "heapd top: frame ")
        XCTAssertEqual(frames.count, 3, top.stdout)
        XCTAssertTrue(top.stdout.contains("objects 1  used "), top.stdout)
        XCTAssertTrue(top.stdout.contains("  clients "), top.stdout)
        XCTAssertTrue(top.stdout.contains("type  objects  change  bytes\nlist        1             32\n"), top.stdout)
        XCTAssertFalse(top.stdout.contains("\u{1B}["), "no screen control codes into a file")
    }
}
