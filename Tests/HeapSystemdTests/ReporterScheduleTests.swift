import HeapSystemd
import XCTest

final class ReporterScheduleTests: XCTestCase {
    let second: UInt64 = 1_000_000_000

    func testHealthChecksEveryPeriodWithoutCatchUpBursts() {
        var schedule = ReporterSchedule(
            now: 0, watchdogPeriod: second / 2, statusPeriod: 5 * second, statusSpacing: second)
        XCTAssertEqual(schedule.nextWake, second / 2)
        XCTAssertFalse(schedule.due(at: second / 4).healthCheck)
        XCTAssertTrue(schedule.due(at: second / 2).healthCheck)
        XCTAssertEqual(schedule.nextWake, second)
        // Woken three periods late: one check now, the next a full period later.
        XCTAssertTrue(schedule.due(at: 3 * second).healthCheck)
        XCTAssertFalse(schedule.due(at: 3 * second + 1).healthCheck)
        XCTAssertEqual(schedule.nextWake, 3 * second + second / 2)
    }

    func testWithoutWatchdogOnlyStatus() {
        var schedule = ReporterSchedule(now: 0, watchdogPeriod: nil, statusPeriod: 5 * second, statusSpacing: second)
        XCTAssertEqual(schedule.nextWake, 5 * second)
        let due = schedule.due(at: 5 * second)
        XCTAssertEqual(due, ReporterSchedule.Due(healthCheck: false, status: true))
        XCTAssertEqual(schedule.nextWake, 10 * second)
    }

    func testACollectionBringsTheStatusForwardButKeepsTheSpacing() {
        var schedule = ReporterSchedule(now: 0, watchdogPeriod: nil, statusPeriod: 5 * second, statusSpacing: second)
        schedule.statusSent(at: 0)
        schedule.collectionFinished(at: second / 10)
        XCTAssertEqual(schedule.nextWake, second, "not sooner than one spacing after the last STATUS")
        XCTAssertTrue(schedule.due(at: second).status)
        schedule.statusSent(at: second)
        schedule.collectionFinished(at: 3 * second)
        XCTAssertEqual(schedule.nextWake, 3 * second, "long after the last one: at once")
    }
}
