import Foundation
import HeapClient
import HeapProtocol
import HeapdTesting
import XCTest

/// The real heapd against a real `NOTIFY_SOCKET` (a datagram socket this test binds with SO_PASSCRED):
/// READY, STATUS, WATCHDOG, RELOADING, STOPPING and ERRNO as systemd would receive them.
final class NotifyIntegrationTests: SystemdTestCase {
    struct Notified {
        let heapd: RunningChild
        let listener: NotifyListener
        let socketPath: String
        let directory: String
    }

    /// Starts heapd with `NOTIFY_SOCKET` (and `WATCHDOG_USEC` when given) on a fresh socket path.
    func startNotified(
        watchdogMicroseconds: Int? = nil, arguments: [String] = [], waitForReady: Bool = true
    ) throws -> Notified {
        let directory = try makeDirectory()
        let listener = try NotifyListener(path: directory + "/notify")
        onTearDown { listener.close() }
        var environment = ["NOTIFY_SOCKET": listener.path]
        if let watchdogMicroseconds { environment["WATCHDOG_USEC"] = "\(watchdogMicroseconds)" }
        let socketPath = directory + "/h.sock"
        let heapd = try startHeapd(
            ["--socket", socketPath] + arguments, environment: environment, directory: directory)
        let notified = Notified(heapd: heapd, listener: listener, socketPath: socketPath, directory: directory)
        if waitForReady {
            guard listener.waitFor(timeout: 30, { $0["READY"] == "1" }) != nil else {
                XCTFail("no READY=1; stderr: \(heapd.stderr)")
                throw CocoaError(.fileReadUnknown)
            }
        }
        return notified
    }

    func testReadyIsSentOnceTheSocketAcceptsWithMainPIDAndAStatus() throws {
        let notified = try startNotified(waitForReady: false)
        guard let ready = notified.listener.waitFor(timeout: 30, { $0["READY"] == "1" }) else {
            return XCTFail("no READY=1; stderr: \(notified.heapd.stderr)")
        }
        // READY means "clients can connect now": the very first attempt after it must succeed.
        XCTAssertTrue(isConnectable(notified.socketPath), "READY=1 arrived before the socket accepted")
        XCTAssertEqual(notified.listener.received.count, 1, "READY must be the first datagram")
        XCTAssertEqual(ready["MAINPID"], "\(notified.heapd.pid)")
        XCTAssertEqual(ready.senderPID, notified.heapd.pid, "sent by heapd's main process (NotifyAccess=main)")
        XCTAssertEqual(ready["STATUS"], "0 objects, 0 B, 0 clients; collections 0/0/0")
    }

    func testStatusLineChangesAsTheHeapChanges() throws {
        let notified = try startNotified()
        let client = try connect(notified.socketPath)
        defer { client.close() }
        for index in 0..<50 { _ = try client.call("NEW", "v\(index)", "list") }
        _ = try client.call("GC", "COLLECT")
        // A collection refreshes the status (at most one STATUS a second).
        guard let grown = notified.listener.waitFor(timeout: 8, { $0["STATUS"]?.hasPrefix("50 objects") == true })
        else {
            return XCTFail("no STATUS with 50 objects: \(notified.listener.received.map(\.text))")
        }
        let status = try XCTUnwrap(grown["STATUS"])
        XCTAssertTrue(status.contains("1 client;"), status)
        XCTAssertTrue(status.contains("collections 0/0/1"), status)
        XCTAssertTrue(status.contains("pause last "), status)
        XCTAssertTrue(status.contains(" KiB") || status.contains(" B,"), status)
        for index in 0..<50 { _ = try client.call("DEL", "v\(index)") }
        _ = try client.call("GC", "COLLECT")
        guard let shrunk = notified.listener.waitFor(timeout: 8, { $0["STATUS"]?.hasPrefix("0 objects") == true })
        else {
            return XCTFail("no STATUS with 0 objects: \(notified.listener.received.map(\.text))")
        }
        XCTAssertTrue(shrunk["STATUS"]!.contains("collections 0/0/2"), shrunk.text)
        // Never more often than needed: no two STATUS datagrams within the one-second spacing, unless
        // READY or RELOADING carried one.
        let statuses = notified.listener.received.filter { $0["STATUS"] != nil && $0["READY"] == nil }
        for (first, second) in zip(statuses, statuses.dropFirst()) {
            XCTAssertGreaterThan(
                second.arrival - first.arrival, 0.9, "STATUS lines too close: \(first.text) / \(second.text)")
        }
    }

    func testWatchdogPingsAtHalfTheIntervalStopWhenTheCollectorStallsAndResume() throws {
        let notified = try startNotified(watchdogMicroseconds: 1_000_000, arguments: ["--enable-test-commands"])
        let pings = notified.listener.collect(for: 3).filter { $0["WATCHDOG"] == "1" }
        XCTAssertTrue((5...7).contains(pings.count), "expected ~6 pings in 3 s at 0.5 s, got \(pings.count)")
        for (first, second) in zip(pings, pings.dropFirst()) {
            XCTAssertEqual(second.arrival - first.arrival, 0.5, accuracy: 0.2, "ping spacing")
        }
        XCTAssertTrue(pings.allSatisfy { $0.senderPID == notified.heapd.pid })

        // Stall the collector for 4 s with the world stopped: a health check must fail within the
        // collector bound (1 s) plus one check period, and no ping may follow while it stalls.
        let client = try connect(notified.socketPath)
        defer { client.close() }
        XCTAssertEqual(try client.call("GC", "DEBUG_STALL", "4"), .simple("OK"))
        let stallStart = NotifyListener.now()
        guard
            let unhealthy = notified.listener.waitFor(
                timeout: 3, { $0["STATUS"]?.hasPrefix("UNHEALTHY: ") == true })
        else { return XCTFail("no UNHEALTHY status: \(notified.listener.received.suffix(5).map(\.text))") }
        XCTAssertLessThan(unhealthy.arrival - stallStart, 2.2)
        let during = notified.listener.collect(for: stallStart + 3.8 - NotifyListener.now())
        XCTAssertEqual(during.filter { $0["WATCHDOG"] == "1" }.count, 0, "pinged while stalled: \(during.map(\.text))")
        // The reason names the collector: stuck past its bound, or holding the world stopped while
        // the event loops wait behind it (whichever the check saw first).
        XCTAssertTrue(notified.heapd.waitForStderr("health check failed, watchdog pings stopped"))
        let failure = notified.heapd.stderr.split(separator: "\n").first {
            $0.contains("health check failed, watchdog pings stopped")
        }
        XCTAssertTrue(failure?.contains("collector") == true, String(failure ?? "no failure logged"))

        // Once the stalled collection ends, the pings resume (systemd would have restarted heapd by now
        // with WatchdogSec=1s; here nobody does).
        guard notified.listener.waitFor(timeout: 4, { $0["WATCHDOG"] == "1" }) != nil else {
            return XCTFail("pings did not resume after the stall")
        }
        XCTAssertTrue(notified.heapd.waitForStderr("health check passes again"))
    }

    func testReloadSendsReloadingWithMonotonicTimeThenReadyAndAppliesTheLogLevel() throws {
        let directory = try makeDirectory()
        let configuration = directory + "/heapd.conf"
        try "log-level = info\n".write(toFile: configuration, atomically: true, encoding: .utf8)
        let notified = try startNotified(arguments: ["--config", configuration])
        let before = try connect(notified.socketPath)
        // A round trip: the session is open (and was not logged) before the reload.
        XCTAssertEqual(try before.call("PING"), .simple("PONG"))
        before.close()
        try "# more detail\nlog-level = debug  # for a while\n".write(
            toFile: configuration, atomically: true, encoding: .utf8)
        notified.heapd.send(SIGHUP)
        guard let reloading = notified.listener.waitFor(timeout: 10, { $0["RELOADING"] == "1" }) else {
            return XCTFail("no RELOADING=1: \(notified.listener.received.map(\.text))")
        }
        let sentAt = try XCTUnwrap(reloading["MONOTONIC_USEC"].flatMap(Double.init)) / 1e6
        XCTAssertEqual(sentAt, NotifyListener.now(), accuracy: 5, "MONOTONIC_USEC is CLOCK_MONOTONIC")
        guard let ready = notified.listener.waitFor(timeout: 10, { $0["READY"] == "1" }) else {
            return XCTFail("no READY=1 after RELOADING=1")
        }
        XCTAssertEqual(ready["MAINPID"], "\(notified.heapd.pid)")
        XCTAssertNotNil(ready["STATUS"])
        // The reloaded level is in force: a connection is now logged (at debug, with the peer's pid).
        let after = try connect(notified.socketPath)
        after.close()
        XCTAssertTrue(notified.heapd.waitForStderr("client connected"))
        let log = notified.heapd.stderr
        XCTAssertEqual(log.components(separatedBy: "client connected").count - 1, 1, log)
        XCTAssertTrue(log.contains("client_pid=\(getpid())"), log)
        XCTAssertTrue(log.contains("configuration reloaded"), log)
    }

    func testReloadWithABrokenFileKeepsTheSettingsAndStillEndsReady() throws {
        let directory = try makeDirectory()
        let configuration = directory + "/heapd.conf"
        try "log-level = info\n".write(toFile: configuration, atomically: true, encoding: .utf8)
        let notified = try startNotified(arguments: ["--config", configuration])
        try "log-level = loud\n".write(toFile: configuration, atomically: true, encoding: .utf8)
        notified.heapd.send(SIGHUP)
        XCTAssertNotNil(notified.listener.waitFor(timeout: 10, { $0["RELOADING"] == "1" }))
        XCTAssertNotNil(notified.listener.waitFor(timeout: 10, { $0["READY"] == "1" }))
        XCTAssertTrue(notified.heapd.waitForStderr("reload failed, settings unchanged"))
        XCTAssertTrue(notified.heapd.stderr.contains("log-level 'loud'"))
        XCTAssertTrue(isConnectable(notified.socketPath))
    }

    func testSigtermSendsStoppingExitsZeroAndRemovesItsOwnSocket() throws {
        let notified = try startNotified(watchdogMicroseconds: 2_000_000)
        notified.heapd.send(SIGTERM)
        guard notified.listener.waitFor(timeout: 10, { $0["STOPPING"] == "1" }) != nil else {
            return XCTFail("no STOPPING=1: \(notified.listener.received.map(\.text))")
        }
        XCTAssertEqual(notified.heapd.wait().status, 0)
        let after = notified.listener.collect(for: 0.3)
        XCTAssertTrue(after.isEmpty, "datagrams after exit: \(after.map(\.text))")
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: notified.socketPath), "heapd created it, heapd removes it")
    }

    func testFailedStartSendsErrnoBeforeExitingNonZero() throws {
        let directory = try makeDirectory()
        let notOurs = directory + "/not-a-socket"
        try "keep me".write(toFile: notOurs, atomically: true, encoding: .utf8)
        let listener = try NotifyListener(path: directory + "/notify")
        onTearDown { listener.close() }
        let heapd = try startHeapd(
            ["--socket", notOurs], environment: ["NOTIFY_SOCKET": listener.path], directory: directory)
        XCTAssertNotEqual(heapd.wait().status, 0)
        let datagram = try XCTUnwrap(listener.next(timeout: 2), "no datagram")
        XCTAssertEqual(datagram["ERRNO"], "\(EEXIST)")
        XCTAssertTrue(datagram["STATUS"]?.hasPrefix("failed to start: ") == true, datagram.text)
        XCTAssertNil(listener.received.first { $0["READY"] != nil })
        XCTAssertEqual(try String(contentsOfFile: notOurs, encoding: .utf8), "keep me")
    }

    /// A refused heap image fails the start before READY=1, telling systemd why (issue 13).
    func testACorruptHeapImageFailsTheStartWithErrnoAndStatus() throws {
        let directory = try makeDirectory()
        let image = directory + "/heap.image"
        // The magic, then a header whose checksum cannot match.
        try Data(Array("HEAPDIMG".utf8) + [UInt8](repeating: 0x5A, count: 40)).write(to: URL(fileURLWithPath: image))
        let notified = try startNotified(arguments: ["--image", image], waitForReady: false)
        XCTAssertEqual(notified.heapd.wait().status, 1)
        let datagram = try XCTUnwrap(notified.listener.next(timeout: 2))
        XCTAssertEqual(datagram["ERRNO"], "\(EINVAL)")
        XCTAssertTrue(datagram["STATUS"]?.contains("image corrupt") == true, datagram.text)
        XCTAssertNil(notified.listener.received.first { $0["READY"] != nil })
        XCTAssertFalse(FileManager.default.fileExists(atPath: notified.socketPath), "no socket for a refused image")
    }

    func testAMalformedConfigurationFileFailsTheStartWithEINVAL() throws {
        let directory = try makeDirectory()
        let configuration = directory + "/heapd.conf"
        try "colour = blue\n".write(toFile: configuration, atomically: true, encoding: .utf8)
        let notified = try startNotified(arguments: ["--config", configuration], waitForReady: false)
        XCTAssertEqual(notified.heapd.wait().status, 1)
        let datagram = try XCTUnwrap(notified.listener.next(timeout: 2))
        XCTAssertEqual(datagram["ERRNO"], "\(EINVAL)")
        XCTAssertTrue(notified.heapd.stderr.contains("unknown key 'colour'"), notified.heapd.stderr)
    }

    func testWithoutNotifySocketNoNotifyThreadRuns() throws {
        let directory = try makeDirectory()
        let quiet = try startHeapd(
            ["--socket", directory + "/q.sock"], environment: ["WATCHDOG_USEC": "1000000"], directory: directory)
        try connect(directory + "/q.sock", process: quiet).close()
        XCTAssertFalse(threadNames(of: quiet.pid).contains("heapd-notify"), "\(threadNames(of: quiet.pid))")
        let notified = try startNotified()
        let deadline = Date().addingTimeInterval(5)
        while !threadNames(of: notified.heapd.pid).contains("heapd-notify") && Date() < deadline { usleep(20_000) }
        XCTAssertTrue(
            threadNames(of: notified.heapd.pid).contains("heapd-notify"), "\(threadNames(of: notified.heapd.pid))")
    }

    private func threadNames(of pid: Int32) -> [String] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.compactMap { try? String(contentsOfFile: "/proc/\(pid)/task/\($0)/comm", encoding: .utf8) }
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    }
}
