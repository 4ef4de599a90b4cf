import XCTest

@testable import HeapCore

/// Retained sizes on the live heap (`TYPES RETAINED`, `CHAIN x RETAINED`), on small graphs whose
/// answers are worked out by hand: an int takes a 16-byte block, a list of at most two items 32 bytes
/// (items inline), a list of three 32 bytes and a 12-byte item array in a 16-byte block.
final class RetainedSizeTests: HeapTestCase {
    /// The graph read in one step (or in steps of `units`), and its retained sizes.
    private func retainedSizes(roots: [ObjectRef], units: Int? = nil) -> RetainedSizes {
        let external = roots.enumerated().map { HeapRoot(label: "r\($0.offset)", ref: $0.element, holder: .variable) }
        var capture = HeapGraphCapture()
        while true {
            let done = heap.withWorldStopped { stopped -> Bool in
                var budget = units.map { StepBudget(units: $0) } ?? .unlimited
                return capture.advance(in: stopped, external: { external }, budget: &budget)
            }
            if done { break }
        }
        return capture.graph.retainedSizes()
    }

    private func id(_ ref: ObjectRef) -> ObjectID { heap.id(of: ref) }

    /// R = [L1, L2], L1 = [a, b], L2 = [b, c]: b is shared, so R dominates it, not L1 or L2.
    ///
    ///     R 32 ── L1 32 ── a 16          retained: a, b, c 16; L1 = 32 + 16 (a) = 48, L2 = 48;
    ///        │         └── b 16          R = 32 + 48 + 48 + 16 (b) = 144.
    ///        └─ L2 32 ──┘  c 16          Types: list 144 (R dominates both other lists), int 48.
    func testADiamondRetainsItsSharedPartAtTheTop() throws {
        let a = try heap.makeInt(1)
        let b = try heap.makeInt(2)
        let c = try heap.makeInt(3)
        let l1 = try heap.makeList([a, b])
        let l2 = try heap.makeList([b, c])
        let r = hold(try heap.makeList([l1, l2]))
        // A cycle no root reaches: garbage, in no one's retained size.
        let loop = try heap.makeList()
        try heap.append(loop, loop)
        let garbage = heap.id(of: loop)
        for ref in [a, b, c, l1, l2, loop] { heap.release(ref) }

        for units in [nil, 1, 3] {
            let sizes = retainedSizes(roots: [r], units: units)
            XCTAssertEqual(
                sizes.retained(of: [id(r), id(l1), id(l2), id(a), id(b), id(c), garbage]),
                [144, 48, 48, 16, 16, 16, nil], "steps of \(units.map(String.init) ?? "any") units")
            XCTAssertEqual(sizes.byType, ["list": 144, "int": 48])
            XCTAssertEqual(sizes.reachableBytes, 144)
        }
    }

    /// A chain H -> M -> T where M also holds s, which a second root holds too, and a list of three.
    ///
    ///     H 32 ── M 48 ── T 16      M holds [T, s, u] (an item array: 32 + 16 = 48)
    ///                 ├── s 16 ──── second root: s is retained by no list
    ///                 └── u 16
    ///     retained: T 16, u 16, s 16, M = 48 + 16 + 16 = 80, H = 32 + 80 = 112.
    func testAChainsLinksRetainWhatOnlyTheyHold() throws {
        let t = try heap.makeInt(1)
        let s = hold(try heap.makeInt(2))
        let u = try heap.makeInt(3)
        let m = try heap.makeList([t, s, u])
        let h = hold(try heap.makeList([m]))
        for ref in [t, u, m] { heap.release(ref) }
        let sizes = retainedSizes(roots: [h, s])
        XCTAssertEqual(sizes.retained(of: [id(h), id(m), id(t), id(s), id(u)]), [112, 80, 16, 16, 16])
        // Ints: none dominates another, so each counts; lists: H dominates M.
        XCTAssertEqual(sizes.byType, ["list": 112, "int": 48])
        // The same id twice gets the same answer.
        XCTAssertEqual(sizes.retained(of: [id(m), id(m)]), [80, 80])
    }

    /// Instances of one class nested in each other count once per type: the outer retains the inner.
    func testATypeCountsItsTopmostObjectsOnly() throws {
        let inner = try heap.makeInstance(className: "Node")
        let outer = hold(try heap.makeInstance(className: "Node"))
        try heap.setAttribute(outer, "child", inner)
        heap.release(inner)
        let sizes = retainedSizes(roots: [outer])
        let outerRetained = sizes.retained(of: [id(outer)])[0]!
        let innerRetained = sizes.retained(of: [id(inner)])[0]!
        XCTAssertLessThan(innerRetained, outerRetained)
        XCTAssertEqual(sizes.byType["Node"], outerRetained)
        XCTAssertEqual(sizes.reachableBytes, outerRetained)
    }

    /// A root's object held by two roots is still retained by itself (the virtual root dominates it).
    func testObjectsOfGcGarbageAndTwoRootsAreRetainedByNoOneElse() throws {
        let shared = hold(try heap.makeList([]))
        let sizes = retainedSizes(roots: [shared, shared])
        XCTAssertEqual(sizes.retained(of: [id(shared)]), [32])
        XCTAssertEqual(sizes.byType, ["list": 32])
    }
}
