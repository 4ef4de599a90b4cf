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
}
