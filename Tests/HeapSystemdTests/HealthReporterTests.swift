import Foundation
import HeapCore
import HeapServer
import HeapSystemd
import Logging
import XCTest

/// The reporter thread with a recording notifier and a health check the test controls.
final class HealthReporterTests: XCTestCase {
    final class Recorder: ServiceNotifier, @unchecked Sendable {
        let isActive = true
        let sent = LockedValue<[(message: NotifyMessage, at: Date)]>([])
        func send(_ message: NotifyMessage) { sent.withLock { $0.append((message, Date())) } }
        func messages(_ variable: String) -> [NotifyMessage] {
            sent.withLock { $0.map(\.message).filter { $0[variable] != nil } }
        }
    }

    let figures = LockedValue(
        ServerStatistics(
            objects: 0, bytesInUse: 0, clients: 0, collectionsPerGeneration: [0, 0, 0], lastPauseNanoseconds: nil,
            worstPauseNanoseconds: 0))
    let verdict = LockedValue(HealthVerdict.healthy)

    func makeReporter(_ recorder: Recorder, watchdog: Double?) -> HealthReporter {
        let figures = figures
        let verdict = verdict
        return HealthReporter(
            notifier: recorder, watchdog: watchdog.map { WatchdogSettings(interval: $0) },
            statistics: { figures.withLock { $0 } }, health: HealthCheck { verdict.withLock { $0 } },
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    func testPingsOnlyWhileHealthyAndTheStatusSaysWhy() {
        let recorder = Recorder()
        let reporter = makeReporter(recorder, watchdog: 0.4)
        reporter.start()
        usleep(1_000_000)
        let healthyPings = recorder.messages("WATCHDOG").count
        XCTAssertTrue((4...6).contains(healthyPings), "\(healthyPings) pings in 1 s at 0.2 s")
        verdict.withLock { $0 = .unhealthy("collector stuck") }
        usleep(300_000)
        let atFailure = recorder.messages("WATCHDOG").count
        usleep(800_000)
        XCTAssertEqual(recorder.messages("WATCHDOG").count, atFailure, "no ping while unhealthy")
        XCTAssertEqual(
            recorder.messages("STATUS").last?["STATUS"],
            "UNHEALTHY: collector stuck; 0 objects, 0 B, 0 clients; collections 0/0/0")
        verdict.withLock { $0 = .healthy }
        usleep(500_000)
        reporter.stop()
        XCTAssertGreaterThan(recorder.messages("WATCHDOG").count, atFailure, "pings resume")
        XCTAssertEqual(recorder.messages("STATUS").last?["STATUS"], "0 objects, 0 B, 0 clients; collections 0/0/0")
        let afterStop = recorder.sent.withLock { $0.count }
        usleep(500_000)
        XCTAssertEqual(recorder.sent.withLock { $0.count }, afterStop, "nothing after stop()")
    }

    func testStatusAfterCollectionsIsSpacedAndOnlyWhenChanged() {
        let recorder = Recorder()
        let reporter = makeReporter(recorder, watchdog: nil)
        XCTAssertEqual(reporter.currentStatus(), "0 objects, 0 B, 0 clients; collections 0/0/0")
        reporter.start()
        defer { reporter.stop() }
        // Unchanged figures: a collection does not produce a STATUS.
        reporter.collectionFinished()
        usleep(1_300_000)
        XCTAssertEqual(recorder.messages("STATUS").count, 0)
        // Changed figures and a burst of collections: one STATUS, not one per collection.
        for count in 1...20 {
            figures.withLock {
                $0.objects = count
                $0.collectionsPerGeneration = [count, 0, 0]
            }
            reporter.collectionFinished()
            usleep(20_000)
        }
        usleep(1_200_000)
        let statuses = recorder.messages("STATUS")
        XCTAssertTrue((1...2).contains(statuses.count), "\(statuses.map(\.description))")
        XCTAssertEqual(statuses.last?["STATUS"], "20 objects, 0 B, 0 clients; collections 20/0/0")
    }
}
