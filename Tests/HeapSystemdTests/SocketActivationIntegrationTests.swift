import Foundation
import HeapClient
import HeapProtocol
import HeapdTesting
import XCTest

/// Socket activation through `systemd-socket-activate`, which passes listening sockets exactly as
/// systemd does (fd 3 on, `LISTEN_FDS`, `LISTEN_PID`, `LISTEN_FDNAMES`) and execs heapd in its own
/// process on the first connection.
final class SocketActivationIntegrationTests: SystemdTestCase {
    static let activator = "/usr/bin/systemd-socket-activate"

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.activator) else {
            throw XCTSkip("\(Self.activator) not installed (Debian package systemd)")
        }
    }

    func testServesClientsOnThePassedSocketAndNeverUnlinksIt() throws {
        let directory = try makeDirectory()
        let listener = try NotifyListener(path: directory + "/notify")
        onTearDown { listener.close() }
        let socketPath = directory + "/activated.sock"
        let activated = try start(
            Self.activator,
            ["-l", socketPath, "--fdname=heapd", "-E", "NOTIFY_SOCKET=\(listener.path)", BuildProducts.heapd],
            directory: directory)
        // The activator listens first; heapd starts on the first connection and must serve it.
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: socketPath) && Date() < deadline { usleep(20_000) }
        let client = try connect(socketPath, process: activated)
        XCTAssertEqual(try client.call("PING"), .simple("PONG"))
        XCTAssertEqual(try client.call("NEW", "a", "str", "activated"), .simple("OK"))
        let info = bulkText(try client.call("INFO", "server")) ?? ""
        XCTAssertTrue(info.contains("listen:fd 3 (heapd)"), info)
        XCTAssertTrue(info.contains("process_id:\(activated.pid)"), "heapd runs in the activator's process: \(info)")
        client.close()
        let ready = try XCTUnwrap(listener.waitFor(timeout: 10, { $0["READY"] == "1" }), "no READY=1")
        XCTAssertEqual(ready["MAINPID"], "\(activated.pid)")
        // A second client on the same passed socket.
        let second = try connect(socketPath)
        XCTAssertEqual(try second.call("PING"), .simple("PONG"))
        second.close()

        XCTAssertEqual(activated.stop().status, 0, activated.stderr)
        XCTAssertNotNil(listener.waitFor(timeout: 2, { $0["STOPPING"] == "1" }))
        var socketStatus = stat()
        XCTAssertEqual(lstat(socketPath, &socketStatus), 0, "heapd unlinked a socket it did not create")
        XCTAssertEqual(socketStatus.st_mode & S_IFMT, S_IFSOCK)
        XCTAssertFalse(activated.stderr.contains("error"), activated.stderr)
    }

    func testSeveralPassedSocketsAreRefusedWithAnErrorNamingThem() throws {
        let directory = try makeDirectory()
        let listener = try NotifyListener(path: directory + "/notify")
        onTearDown { listener.close() }
        let activated = try start(
            Self.activator,
            [
                "-l", directory + "/rw.sock", "-l", directory + "/monitor.sock", "--fdname=rw:monitor",
                "-E", "NOTIFY_SOCKET=\(listener.path)", BuildProducts.heapd,
            ],
            directory: directory)
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: directory + "/rw.sock") && Date() < deadline { usleep(20_000) }
        // The first connection starts heapd, which refuses the configuration.
        let trigger = try? HeapConnection(socketPath: directory + "/rw.sock", timeout: 5)
        defer { trigger?.close() }
        XCTAssertEqual(activated.wait().status, 1)
        let log = activated.stderr
        XCTAssertTrue(log.contains("systemd passed 2 sockets"), log)
        XCTAssertTrue(log.contains("\"rw\"") && log.contains("\"monitor\""), log)
        XCTAssertTrue(log.contains("not supported"), log)
        XCTAssertEqual(listener.next(timeout: 2)?["ERRNO"], "\(EINVAL)")
    }

    func testASocketPathAndAPassedSocketTogetherAreRefused() throws {
        let directory = try makeDirectory()
        let activated = try start(
            Self.activator,
            ["-l", directory + "/a.sock", BuildProducts.heapd, "--socket", directory + "/b.sock"],
            directory: directory)
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: directory + "/a.sock") && Date() < deadline { usleep(20_000) }
        let trigger = try? HeapConnection(socketPath: directory + "/a.sock", timeout: 5)
        defer { trigger?.close() }
        XCTAssertEqual(activated.wait().status, 1)
        XCTAssertTrue(activated.stderr.contains("use one or the other"), activated.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/b.sock"))
    }
}

func bulkText(_ reply: Reply) -> String? {
    if case .bulk(let bytes) = reply { return String(decoding: bytes, as: UTF8.self) }
    return nil
}
