import Foundation
import HeapdTesting
import XCTest

@testable import HeapCore

/// `heapctl inspect IMAGE --graph` against the live `GRAPH`: on random heaps of every kind, the graph
/// drawn from an image (``ImageReferenceGraph``) is the one ``ReferenceGraphBuilder`` draws from the
/// heap the image was taken of, node for node and edge for edge, once ids (`#17`) and image names
/// (`@3`) are matched by position.
final class ImageGraphAgreementTests: XCTestCase {
    /// A node as both graphs describe it, its repr aside (``sameRepr(_:_:)``).
    struct Drawn: Equatable {
        let type: String
        /// nil for a singleton, whose count and size an image does not keep.
        let figures: String?
    }

    static func normalized(_ text: String) -> String {
        text.replacingOccurrences(of: "[#@][0-9]+", with: "#", options: .regularExpression)
    }

    /// The live repr and the image's, ids aside. Both are cut at 40 characters, where a long id
    /// (`#4294967436`) and a short name (`@37`) move the cut: then what both show must agree.
    static func sameRepr(_ live: String, _ offline: String) -> Bool {
        if normalized(live) == normalized(offline) { return true }
        // A cut repr is its first 40 characters and "...".
        func shown(_ repr: String) -> (text: String, cut: Bool) {
            repr.count == 43 && repr.hasSuffix("...") ? (String(repr.dropLast(3)), true) : (repr, false)
        }
        let (a, b) = (shown(live), shown(offline))
        guard a.cut || b.cut else { return false }
        let (x, y) = (normalized(a.text), normalized(b.text))
        // The last character may be half an id ("#" against "at "): compare up to it.
        let common = min(x.count, y.count) - 1
        return common >= 20 && x.prefix(common) == y.prefix(common)
    }

    func testForwardGraphsAgreeWithTheLiveGraphOnRandomHeaps() throws {
        var compared = (graphs: 0, nodes: 0, edges: 0, leftOut: 0)
        for seed in UInt64(1)...12 {
            let heap = HeapImageTests.makeHeap()
            let built = try HeapImageTests.buildRandomHeap(heap, seed: seed, steps: 300)
            let named = Self.everyReferenceNamed(built)
            let globals = named.sorted { $0.key < $1.key }
            let image = heap.withWorldStopped { $0.captureImage(globals: named, dropping: []) }
            let read = try ImageReader.read(ImageWriter.bytes(of: image))
            // The image's index of each global's object: what the offline graph is asked about.
            let indexByName = Dictionary(uniqueKeysWithValues: read.globals.map { ($0.name, $0.ref) })
            for (name, ref) in globals where !ref.isImmortal {
                for (depth, maxNodes) in [(3, 200), (2, 6)] {
                    let live = try XCTUnwrap(
                        liveGraph(heap, around: ref, globals: globals, depth: depth, max: maxNodes))
                    let offline = try ImageReferenceGraph(
                        read, around: Int(indexByName[name]! - 4), depth: depth, maxNodes: maxNodes)
                    try assertSame(live, offline, "seed \(seed) g.\(name) depth \(depth) max \(maxNodes)")
                    compared.graphs += 1
                    compared.nodes += offline.nodes.count
                    compared.edges += offline.edges.count
                    compared.leftOut += offline.leftOut
                }
            }
            for ref in built.session { heap.release(ref) }
            for ref in built.globals.values { heap.release(ref) }
        }
        // The comparison covered real graphs, cut ones included.
        XCTAssertGreaterThan(compared.graphs, 100)
        XCTAssertGreaterThan(compared.edges, compared.graphs)
        XCTAssertGreaterThan(compared.leftOut, 0)
    }

    func testReferrerGraphsFindTheSameObjects() throws {
        let heap = HeapImageTests.makeHeap()
        let built = try HeapImageTests.buildRandomHeap(heap, seed: 99, steps: 300)
        let named = Self.everyReferenceNamed(built)
        let globals = named.sorted { $0.key < $1.key }
        let image = heap.withWorldStopped { $0.captureImage(globals: named, dropping: []) }
        let read = try ImageReader.read(ImageWriter.bytes(of: image))
        let indexByName = Dictionary(uniqueKeysWithValues: read.globals.map { ($0.name, $0.ref) })
        var withReferrers = 0
        for (name, ref) in globals where !ref.isImmortal {
            let live = try XCTUnwrap(
                liveGraph(heap, around: ref, globals: globals, depth: 2, max: 200, referrers: true))
            let offline = try ImageReferenceGraph(
                read, around: Int(indexByName[name]! - 4), depth: 2, referrers: true, maxNodes: 200)
            // A scan finds referrers in slot order live and in image order offline: compare as sets (and
            // without reprs, whose cut at 40 characters moves with the ids' lengths).
            let liveNodes = live.nodes.map { "\($0.typeName) \($0.refcount) \($0.state) \($0.reachable) \($0.bytes)" }
                .sorted()
            let offlineNodes = offline.nodes.map { "\($0.type) \($0.refcount) \($0.state) \($0.reachable) \($0.bytes)" }
                .sorted()
            XCTAssertEqual(liveNodes, offlineNodes, "g.\(name)")
            XCTAssertEqual(live.edges.count, offline.edges.count, "g.\(name)")
            XCTAssertEqual(live.roots.map(\.label).sorted(), offline.roots.map(\.label).sorted(), "g.\(name)")
            if offline.nodes.count > 1 { withReferrers += 1 }
        }
        XCTAssertGreaterThan(withReferrers, 5)
        for ref in built.session { heap.release(ref) }
        for ref in built.globals.values { heap.release(ref) }
    }

    /// The random heap's globals and its session's references, each a global: then every reference
    /// held outside the heap is in the image, whose counts are the live heap's, and both graphs have
    /// the same roots.
    static func everyReferenceNamed(_ built: HeapImageTests.RandomHeap) -> [String: ObjectRef] {
        var named = built.globals
        for (index, ref) in built.session.enumerated() { named["session\(index)"] = ref }
        return named
    }

    private func liveGraph(
        _ heap: Heap, around ref: ObjectRef, globals: [(key: String, value: ObjectRef)], depth: Int, max: Int,
        referrers: Bool = false
    ) -> ReferenceGraph? {
        let roots = globals.map { HeapRoot(label: "g." + $0.key, ref: $0.value, holder: .global) }
        var builder = ReferenceGraphBuilder(around: heap.id(of: ref), depth: depth, referrers: referrers, maxNodes: max)
        return heap.withWorldStopped { stopped -> ReferenceGraph? in
            var budget = StepBudget.unlimited
            while true {
                switch builder.advance(in: stopped, external: { roots }, budget: &budget) {
                case .graph(let graph): return graph
                case .gone: return nil
                case nil: continue
                }
            }
        }
    }

    private func assertSame(_ live: ReferenceGraph, _ offline: ImageReferenceGraph, _ what: String) throws {
        XCTAssertEqual(live.nodes.count, offline.nodes.count, what)
        XCTAssertEqual(live.truncated, offline.leftOut, what)
        guard live.nodes.count == offline.nodes.count else { return }
        var names: [String: String] = [:]
        for (liveNode, offlineNode) in zip(live.nodes, offline.nodes) {
            names[liveNode.id.description] = offlineNode.id
            let singleton = !offlineNode.id.hasPrefix("@")
            XCTAssertTrue(
                Self.sameRepr(liveNode.repr, offlineNode.repr), "\(what): \(liveNode.repr) / \(offlineNode.repr)")
            let liveDrawn = Drawn(
                type: liveNode.typeName,
                figures: singleton
                    ? nil
                    : "\(liveNode.refcount) \(liveNode.state) \(liveNode.reachable) \(String(describing: liveNode.length)) \(liveNode.bytes)"
            )
            let offlineDrawn = Drawn(
                type: offlineNode.type,
                figures: singleton
                    ? nil
                    : "\(offlineNode.refcount) \(offlineNode.state) \(offlineNode.reachable) \(String(describing: offlineNode.length)) \(offlineNode.bytes)"
            )
            XCTAssertEqual(liveDrawn, offlineDrawn, "\(what): \(liveNode.id) / \(offlineNode.id)")
        }
        let liveEdges = live.edges.map { "\(names[$0.from.description]!) -> \(names[$0.to.description]!) \($0.label)" }
        let offlineEdges = offline.edges.map { "\($0.from) -> \($0.to) \($0.label)" }
        XCTAssertEqual(liveEdges, offlineEdges, what)
        XCTAssertEqual(
            live.roots.map { "\($0.label) -> \(names[$0.to.description]!)" },
            offline.roots.map { "\($0.label) -> \($0.to)" },
            what)
    }
}
