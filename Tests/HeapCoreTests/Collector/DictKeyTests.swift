import XCTest

@testable import HeapCore

/// Dicts whose keys are not `str`: the core's API allows them (protocol commands give str keys). The
/// collector must see such keys, and `gc.get_referents` lists value then key per entry, as CPython
/// 3.11's `dict_traverse` does for a dict that is not `DK_IS_UNICODE`.
final class DictKeyTests: XCTestCase {
    private func makeHeap() -> Heap { Heap(configuration: HeapConfiguration(maxObjects: 1 << 16, shardCount: 2)) }

    /// Tuple keys, some equal to earlier ones (the entry keeps its first key, the value is replaced),
    /// then collections: each key stays alive while the dict holds it. (Before the fix the collection
    /// freed every such key: trial deletion counted the dict's reference to it, the traversal did not.)
    func testTupleKeysSurviveCollections() throws {
        let heap = makeHeap()
        let dict = try heap.makeDict()
        for key in 0..<30 {
            let items = try (0...key % 7).map { try heap.makeInt(Int64($0)) }
            let tuple = try heap.makeTuple(items)
            for item in items { heap.release(item) }
            try heap.setItem(dict, key: tuple, tuple)
            heap.release(tuple)
        }
        for generation in [0, 1, 2, 0] {
            _ = try heap.collector.collect(generation: generation)
            XCTAssertEqual(heap.withWorldStopped { $0.verify(externalReferences: [dict: 1]) }, [], "gen \(generation)")
        }
        XCTAssertEqual(try heap.length(of: dict), 7)
        XCTAssertEqual(heap.repr(dict).prefix(12), "{(0,): (0,),")
        heap.release(dict)
    }

    /// A cycle through an instance key (hashed by identity; its attribute holds the dict) is collected
    /// whole, key included.
    func testACycleThroughAKeyIsCollected() throws {
        let heap = makeHeap()
        let dict = try heap.makeDict()
        let key = try heap.makeInstance(className: "Node")
        try heap.setAttribute(key, "owner", dict)
        let value = try heap.makeInt(1)
        try heap.setItem(dict, key: key, value)
        for ref in [value, key, dict] { heap.release(ref) }
        XCTAssertEqual(try heap.collector.collect(generation: 2), 2)
        XCTAssertEqual(heap.withWorldStopped { $0.verify(externalReferences: [:]) }, [])
    }

    /// gc.get_referents: `{'s': b}` lists `[b]`; `{'s': b, (1, 2): d}` lists `[b, 's', d, (1, 2)]`.
    func testReferentsFollowCPythonsDictTraverse() throws {
        let heap = makeHeap()
        let b = try heap.makeList()
        let d = try heap.makeList()
        let one = try heap.makeInt(1)
        let two = try heap.makeInt(2)
        let pair = try heap.makeTuple([one, two])
        let dict = try heap.makeDict()
        try heap.setItem(dict, key: "s", b)
        XCTAssertEqual(heap.referents(of: dict).map { heap.repr($0) }, ["[]"])
        try heap.setItem(dict, key: pair, d)
        let listed = heap.referents(of: dict)
        XCTAssertEqual(listed.map { heap.repr($0) }, ["[]", "'s'", "[]", "(1, 2)"])
        XCTAssertEqual(listed.map(\.slot), [b.slot, listed[1].slot, d.slot, pair.slot])
        for ref in listed + [b, d, one, two, pair, dict] { heap.release(ref) }
    }
}
