import Foundation
import HeapClient
import HeapProtocol
import XCTest

/// heapd as a process: start, refuse a live socket, replace a stale one, stop cleanly on signals.
final class DaemonLifecycleTests: XCTestCase {
    func testSigtermClosesClientsRemovesSocketAndExitsZero() throws {
        let heapd = try HeapdProcess()
        defer { heapd.stop(signal: SIGKILL) }
        let client = try heapd.connect()
        XCTAssertEqual(try client.call("NEW", "a", "list"), .simple("OK"))
        XCTAssertEqual(heapd.stop(signal: SIGTERM), 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: heapd.socketPath))
        XCTAssertThrowsError(try client.call("PING"))
    }

    func testSigintExitsZero() throws {
        let heapd = try HeapdProcess()
        defer { heapd.stop(signal: SIGKILL) }
        XCTAssertEqual(heapd.stop(signal: SIGINT), 0)
    }

    func testLiveSocketIsRefusedAndStaleSocketReplaced() throws {
        let first = try HeapdProcess()
        defer { first.stop(signal: SIGKILL) }
        // A second daemon on the same path must refuse, leaving the first untouched.
        let second = Process()
        second.executableURL = URL(fileURLWithPath: HeapdProcess.binaryPath)
        second.arguments = ["--socket", first.socketPath]
        let errors = Pipe()
        second.standardError = errors
        try second.run()
        second.waitUntilExit()
        XCTAssertNotEqual(second.terminationStatus, 0)
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(message.contains("already listening"), message)
        XCTAssertEqual(try first.connect().call("PING"), .simple("PONG"))

        // Killed hard, the first leaves its socket file behind; a new daemon replaces it.
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        XCTAssertTrue(FileManager.default.fileExists(atPath: first.socketPath))
        let third = try HeapdProcess(socketPath: first.socketPath)
        defer { third.stop() }
        XCTAssertEqual(try third.connect().call("PING"), .simple("PONG"))
    }

    func testRedisCliIsAnOutsideClient() throws {
        guard
            let redisCli = ["/usr/bin/redis-cli", "/usr/local/bin/redis-cli"].first(where: {
                FileManager.default.isExecutableFile(atPath: $0)
            })
        else {
            throw XCTSkip("redis-cli not installed (Debian package redis-tools; .ci/run installs it)")
        }
        let heapd = try HeapdProcess()
        defer { heapd.stop() }
        func run(_ arguments: [String]) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: redisCli)
            process.arguments = ["-s", heapd.socketPath] + arguments
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            process.waitUntilExit()
            return String(decoding: output.fileHandle(forReading: ()), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        XCTAssertEqual(try run(["NEW", "g.a", "list"]), "OK")
        XCTAssertEqual(try run(["NEW", "g.s", "str", "hi there"]), "OK")
        XCTAssertEqual(try run(["APPEND", "g.a", "g.s"]), "1")
        XCTAssertEqual(try run(["REPR", "g.a"]), "['hi there']")
        XCTAssertEqual(try run(["GETREFCOUNT", "g.s"]), "3")
        XCTAssertTrue(try run(["NOPE"]).contains("UNKNOWN"))
    }
}

extension Pipe {
    fileprivate func fileHandle(forReading: Void) -> Data { fileHandleForReading.readDataToEndOfFile() }
}
