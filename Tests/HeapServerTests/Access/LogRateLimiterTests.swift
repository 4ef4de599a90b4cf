import HeapdTesting
import XCTest

@testable import HeapServer

/// The pure pieces of the refusal log: one line a second with the count left out, and the summary by code.
final class LogRateLimiterTests: XCTestCase {
    func testOneLineAnIntervalAndTheSuppressedCountWithTheNext() {
        var limiter = LogRateLimiter(intervalNanoseconds: 1_000)
        XCTAssertEqual(limiter.admit(now: 5_000), 0, "the first is always logged")
        XCTAssertNil(limiter.admit(now: 5_001))
        XCTAssertNil(limiter.admit(now: 5_999))
        XCTAssertEqual(limiter.admit(now: 6_000), 2, "one interval later, with the two left out")
        XCTAssertNil(limiter.admit(now: 6_500))
        XCTAssertEqual(limiter.admit(now: 100_000), 1)
        XCTAssertEqual(limiter.admit(now: 200_000), 0)
    }

    func testTheTallyCountsByCodeLargestFirstAndStartsAfresh() {
        var tally = RejectionTally()
        XCTAssertNil(tally.drain())
        for code in ["UNKNOWN", "DENIED", "UNKNOWN", "PROTO", "UNKNOWN", "DENIED"] { tally.add(code) }
        guard let summary = tally.drain() else { return XCTFail("a summary") }
        XCTAssertEqual(summary.total, 6)
        XCTAssertEqual(summary.byCode, "UNKNOWN 3, DENIED 2, PROTO 1")
        XCTAssertNil(tally.drain(), "drained")
    }
}
