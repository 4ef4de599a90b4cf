import HeapdTesting
import XCTest

@testable import HeapServer

final class DescriptorBudgetTests: XCTestCase {
    func testAHighSoftLimitKeepsTheRequestedClients() {
        XCTAssertNil(DescriptorBudget(requested: 10_000, soft: 1 << 20, hard: 1 << 20).softLimitWanted)
        XCTAssertEqual(DescriptorBudget.maxClients(requested: 10_000, soft: 1 << 20), 10_000)
    }

    func testTheSoftLimitIsRaisedTowardWhatTheClientsNeedUpToTheHardLimit() {
        XCTAssertEqual(DescriptorBudget(requested: 10_000, soft: 1024, hard: 1 << 20).softLimitWanted, 10_032)
        XCTAssertEqual(DescriptorBudget(requested: 10_000, soft: 1024, hard: 4096).softLimitWanted, 4096)
        XCTAssertEqual(DescriptorBudget(requested: .max, soft: 1024, hard: .max).softLimitWanted, UInt64(Int.max) + 32)
        XCTAssertNil(DescriptorBudget(requested: 10_000, soft: 64, hard: 64).softLimitWanted)
    }

    func testClientsAreLoweredToFitWhatIsLeftAfterTheReserve() {
        XCTAssertEqual(DescriptorBudget.maxClients(requested: 10_000, soft: 64), 32)
        XCTAssertEqual(DescriptorBudget.maxClients(requested: 10, soft: 64), 10)
        XCTAssertEqual(DescriptorBudget.maxClients(requested: 10_000, soft: 20), 1, "never zero")
    }
}
