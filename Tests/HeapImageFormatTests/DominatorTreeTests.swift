import HeapImageFormat
import XCTest

final class DominatorTreeTests: XCTestCase {
    /// An irreducible graph, as in figure 4 of Cooper, Harvey and Kennedy's paper: a cycle (4, 5)
    /// entered from two sides, so neither dominates the other and the root dominates both.
    func testThePapersIrreducibleExample() {
        // 0 -> 1, 2; 1 -> 3; 2 -> 4, 5; 3 -> 4; 4 -> 5; 5 -> 4
        let successors = [[1, 2], [3], [4, 5], [4], [5], [4]]
        let tree = DominatorTree(successors: successors)
        XCTAssertEqual(tree.idom, [0, 0, 0, 1, 0, 0])
    }

    func testRetainedSizesOfADiamondAChainAndAnUnreachableNode() {
        // 0 -> 1 -> 2 -> 3; 0 -> 4 -> 5 and 4 -> 6 -> 5 (5 dominated by 4); 7 unreachable.
        let successors = [[1, 4], [2], [3], [], [5, 6], [], [5], [1]]
        let tree = DominatorTree(successors: successors)
        XCTAssertEqual(tree.idom, [0, 0, 1, 2, 0, 4, 4, -1])
        let retained = tree.retainedSizes([0, 1, 10, 100, 1000, 10_000, 100_000, 7])
        XCTAssertEqual(retained, [111_111, 111, 110, 100, 111_000, 10_000, 100_000, 0])
    }

    func testADeepChainNeedsNoDeepStack() {
        let count = 200_000
        let successors = (0..<count).map { $0 + 1 < count ? [$0 + 1] : [] }
        let tree = DominatorTree(successors: successors)
        XCTAssertEqual(tree.idom[count - 1], count - 2)
        XCTAssertEqual(tree.retainedSizes([Int](repeating: 1, count: count))[0], count)
    }
}
