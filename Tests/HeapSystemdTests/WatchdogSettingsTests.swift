import HeapSystemd
import XCTest

final class WatchdogSettingsTests: XCTestCase {
    func testDerivedPaceAndBounds() {
        let ten = WatchdogSettings(interval: 10)
        XCTAssertEqual(ten.pingInterval, 5)
        XCTAssertEqual(ten.eventLoopBound, 2.5)
        XCTAssertEqual(ten.collectorBound, 5)
        let one = WatchdogSettings(interval: 1)
        XCTAssertEqual(one.pingInterval, 0.5)
        XCTAssertEqual(one.eventLoopBound, 0.25)
        XCTAssertEqual(one.collectorBound, 1, "at least a second: the collector beats every 0.25 s")
        // A check (at most eventLoopBound) started at a ping period ends before systemd's deadline.
        for interval in [0.2, 1, 2, 10, 60] {
            let settings = WatchdogSettings(interval: interval)
            XCTAssertLessThan(settings.pingInterval + settings.eventLoopBound, interval)
        }
    }
}
