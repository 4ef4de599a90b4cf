import Foundation
import HeapClient
import HeapProtocol
import HeapdTesting
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
        let second = try ChildProcess.run(BuildProducts.heapd, ["--socket", first.socketPath])
        XCTAssertNotEqual(second.status, 0)
        XCTAssertTrue(second.stderr.contains("already listening"), second.stderr)
        XCTAssertEqual(try first.connect().call("PING"), .simple("PONG"))

        // Killed hard, the first leaves its socket file behind; a new daemon replaces it.
        // (The child, not the harness: the harness would remove the directory and the socket with it.)
        XCTAssertEqual(first.child.stop(signal: SIGKILL).status, SIGKILL)
        XCTAssertTrue(FileManager.default.fileExists(atPath: first.socketPath))
        let third = try HeapdProcess(socketPath: first.socketPath)
        defer { third.stop() }
        XCTAssertEqual(try third.connect().call("PING"), .simple("PONG"))
    }

    func testRedisCliIsAnOutsideClient() throws {
        let redisCli = try Self.redisCli()
        let heapd = try HeapdProcess()
        defer { heapd.stop() }
        func run(_ arguments: [String]) throws -> String {
            try ChildProcess.run(redisCli, ["-s", heapd.socketPath] + arguments).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        XCTAssertEqual(try run(["NEW", "g.a", "list"]), "OK")
        XCTAssertEqual(try run(["NEW", "g.s", "str", "hi there"]), "OK")
        XCTAssertEqual(try run(["APPEND", "g.a", "g.s"]), "1")
        XCTAssertEqual(try run(["REPR", "g.a"]), "['hi there']")
        XCTAssertEqual(try run(["GETREFCOUNT", "g.s"]), "3")
        XCTAssertTrue(try run(["NOPE"]).contains("UNKNOWN"))
    }

    /// `redis-cli --stat` reads INFO's Redis-named fields once a second: memory, clients, requests, and
    /// their rate (it printed -9223372036854775808B for memory when heapd had no used_memory).
    func testRedisCliStatReadsTheStandardInfoFields() throws {
        let redisCli = try Self.redisCli()
        let heapd = try HeapdProcess()
        defer { heapd.stop() }
        let client = try heapd.connect()
        XCTAssertEqual(try client.call("NEW", "g.big", "bytes", "200000"), .simple("OK"))
        guard case .bulk(let bytes) = try client.call("INFO", "memory") else { return XCTFail("INFO") }
        let info = String(decoding: bytes, as: UTF8.self)
        for field in ["used_memory:", "used_memory_human:", "used_memory_rss:", "maxmemory:"] {
            XCTAssertTrue(info.contains("\r\n" + field), "\(field) in \(info)")
        }
        let directory = try makeTemporaryDirectory(tag: "stat")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Through stdbuf: into a file, redis-cli's stdout is block-buffered and SIGINT would lose it.
        let stat = try ChildProcess.start(
            "/usr/bin/stdbuf", ["-o0", redisCli, "-s", heapd.socketPath, "--stat", "-i", "0.3"], directory: directory)
        usleep(1_500_000)
        let output = stat.stop(signal: SIGINT).stdout
        XCTAssertFalse(output.contains("-9223372036854775808"), output)
        // A data line: keys, mem, clients, blocked, requests, connections (requests as "N (+M)").
        let rows = output.split(separator: "\n").filter { $0.contains(" (+") }
        XCTAssertGreaterThanOrEqual(rows.count, 2, output)
        XCTAssertTrue(
            rows.contains { $0.contains("K ") || $0.contains("M ") }, "memory in Redis's human form: \(output)")
    }

    /// The real redis-cli, or a skip saying how to get it.
    private static func redisCli() throws -> String {
        guard
            let path = ["/usr/bin/redis-cli", "/usr/local/bin/redis-cli"].first(where: {
                FileManager.default.isExecutableFile(atPath: $0)
            })
        else {
            throw XCTSkip("redis-cli not installed (Debian package redis-tools; .ci/run installs it)")
        }
        return path
    }
}
