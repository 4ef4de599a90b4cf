import HeapdTesting
import XCTest

@testable import HeapServer

final class PartialRequestBudgetTests: XCTestCase {
    func testWithinTheBudgetNobodyIsEvicted() {
        var budget = PartialRequestBudget(limit: 100)
        XCTAssertTrue(budget.update(client: 1, bytes: 60).isEmpty)
        XCTAssertTrue(budget.update(client: 2, bytes: 40).isEmpty)
        XCTAssertEqual(budget.total, 100)
        XCTAssertTrue(budget.update(client: 1, bytes: 10).isEmpty, "a request completing gives its bytes back")
        XCTAssertEqual(budget.total, 50)
    }

    func testPastTheBudgetTheBiggestIsEvictedEvenWhenAnotherPushedItOver() {
        var budget = PartialRequestBudget(limit: 100)
        _ = budget.update(client: 1, bytes: 70)
        let evicted = budget.update(client: 2, bytes: 40)
        XCTAssertEqual(evicted.map(\.client), [1])
        XCTAssertEqual(evicted.map(\.bytes), [70])
        XCTAssertEqual(budget.total, 40)
        XCTAssertEqual(budget.bytes(of: 1), 0, "no longer counted: it is being closed")
    }

    func testSeveralAreEvictedBiggestFirstUntilTheRestFits() {
        var budget = PartialRequestBudget(limit: 100)
        _ = budget.update(client: 1, bytes: 50)
        _ = budget.update(client: 2, bytes: 45)
        let evicted = budget.update(client: 3, bytes: 99)
        XCTAssertEqual(evicted.map(\.client), [3], "the newcomer's is the biggest")
        XCTAssertEqual(budget.total, 95)
        XCTAssertEqual(budget.update(client: 4, bytes: 101).map(\.client), [4])
    }

    func testEqualHoldersEvictTheOldestClientFirst() {
        var budget = PartialRequestBudget(limit: 100)
        _ = budget.update(client: 7, bytes: 60)
        XCTAssertEqual(budget.update(client: 3, bytes: 60).map(\.client), [3])
    }

    func testRemovingAClientGivesItsBytesBack() {
        var budget = PartialRequestBudget(limit: 100)
        _ = budget.update(client: 1, bytes: 30)
        budget.remove(client: 1)
        budget.remove(client: 1)
        XCTAssertEqual(budget.total, 0)
    }
}
