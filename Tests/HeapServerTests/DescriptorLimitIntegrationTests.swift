import Foundation
import HeapClient
import HeapProtocol
import HeapdTesting
import XCTest

/// heapd under a low `RLIMIT_NOFILE`: it serves as many clients as its descriptors allow, refuses the
/// rest with `-LIMIT`, and never spins on a listening socket it cannot accept from.
final class DescriptorLimitIntegrationTests: XCTestCase {
    func testWithFewerDescriptorsThanClientsEveryClientGetsServiceOrLimitAndHeapdDoesNotSpin() throws {
        let heapd = try HeapdProcess(arguments: ["--log-level", "warning"], descriptorLimit: 64)
        defer { heapd.stop() }
        let pid = heapd.pid
        let observer = try heapd.connect()
        let clients = try (0..<150).map { _ in try RawClient(socketPath: heapd.socketPath) }
        for client in clients { client.sendAll(Array("PING\n".utf8)) }
        var served = 0
        var refused = 0
        var silent = 0
        let deadline = Date().addingTimeInterval(10)
        for client in clients {
            let left = max(0.05, deadline.timeIntervalSinceNow)
            let reply = String(decoding: client.read(atLeast: 7, timeout: left), as: UTF8.self)
            if reply == "+PONG\r\n" {
                served += 1
            } else if reply.hasPrefix("-LIMIT max number of clients reached (32)") {
                refused += 1
            } else {
                silent += 1
            }
        }
        print(
            "figures: 150 clients under ulimit -n 64: \(served) served, \(refused) refused with -LIMIT, \(silent) silent"
        )
        XCTAssertEqual(silent, 0, "every client gets service or -LIMIT")
        XCTAssertEqual(served, 31, "the observer holds the 32nd place")
        let ticks = ProcessFigures.cpuTicks(of: pid)
        sleep(3)
        let used = ProcessFigures.cpuTicks(of: pid) - ticks
        print(
            "figures: heapd CPU over 3 s with 150 clients connected: \(used) ticks of \(3 * sysconf(Int32(_SC_CLK_TCK)))"
        )
        XCTAssertLessThan(used, 30, "heapd does not spin")
        for client in clients { client.close() }
        XCTAssertEqual(try observer.call("PING"), .simple("PONG"))
        guard case .bulk(let limits) = try observer.call("INFO", "limits") else { return XCTFail("INFO") }
        XCTAssertTrue(
            String(decoding: limits, as: UTF8.self).contains("max_clients:32\r\n"),
            "64 descriptors less the reserve of 32")
        // The places are given back: a new client is served.
        let late = try heapd.connect()
        XCTAssertEqual(try late.call("PING"), .simple("PONG"))
    }
}
