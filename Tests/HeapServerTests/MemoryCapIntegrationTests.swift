import Foundation
import HeapClient
import HeapProtocol
import HeapServer
import HeapdTesting
import XCTest

/// The memory cap (`--max-memory`) on the real heapd: past it a command gets `LIMIT`, nothing is half
/// created, the heap stays consistent, and freeing makes room again. heapd never aborts for memory.
final class MemoryCapIntegrationTests: HeapdTestCase {
    override var extraArguments: [String] { ["--max-memory", "64mb"] }

    func testLargePayloadsPastTheCapAreRefusedAndFreeingMakesRoom() throws {
        let client = try heapd.connect()
        let memory = try info(client, "memory")
        XCTAssertEqual(memory["max_memory"], "\(64 << 20)")
        XCTAssertErrorCode(try client.call("NEW", "huge", "bytes", "100000000"), "LIMIT")
        XCTAssertErrorCode(try client.call("REPR", "huge"), "NOVAR")  // a refused NEW binds nothing
        XCTAssertEqual(try client.call("NEW", "a", "bytes", "30000000"), .simple("OK"))
        XCTAssertEqual(try client.call("NEW", "b", "bytes", "30000000"), .simple("OK"))
        XCTAssertErrorCode(try client.call("NEW", "c", "bytes", "30000000"), "LIMIT")
        let full = try info(client, "memory")
        XCTAssertGreaterThanOrEqual(Int(full["heap_mapped_bytes"] ?? "") ?? 0, 60_000_000)
        XCTAssertGreaterThan(Int(full["allocations_refused"] ?? "") ?? 0, 0)
        XCTAssertEqual(try client.call("DEL", "a"), .integer(1))
        XCTAssertEqual(try client.call("NEW", "c", "bytes", "30000000"), .simple("OK"), "freeing made room")
        XCTAssertGreaterThanOrEqual(Int(try info(client, "memory")["heap_mapped_peak_bytes"] ?? "") ?? 0, 60_000_000)
    }
}

/// Small objects up to a small cap: arenas run out, then list, dict and str creation all refuse.
final class SmallObjectCapIntegrationTests: HeapdTestCase {
    override var extraArguments: [String] { ["--max-memory", "8mb"] }

    func testSmallObjectsStopAtTheCapWithoutHalfBuiltContainers() throws {
        let client = try heapd.connect()
        XCTAssertEqual(try client.call("NEW", "l", "list"), .simple("OK"))
        XCTAssertEqual(try client.call("NEW", "d", "dict"), .simple("OK"))
        // 8 MiB of arenas hold about 20,000 of these strs; append until the cap answers.
        var limited = false
        var batches = 0
        while !limited && batches < 100 {
            batches += 1
            var commands: [[String]] = []
            for index in 0..<1_000 {
                commands.append(["NEW", "s", "str", String(repeating: "x", count: 300) + "\(batches)-\(index)"])
                commands.append(["APPEND", "l", "s"])
                commands.append(["SETITEM", "d", "s", "s"])
            }
            for reply in try client.pipeline(commands) {
                if case .error(let code, _) = reply {
                    XCTAssertEqual(code, "LIMIT", "only the cap may refuse here")
                    limited = true
                }
            }
        }
        XCTAssertTrue(limited, "the cap never answered LIMIT")
        // The heap is consistent at the cap, and everything goes when the names go.
        guard case .simple(let verdict) = try client.call("DEBUG", "VERIFY") else { return XCTFail("VERIFY") }
        XCTAssertTrue(verdict.hasPrefix("OK"), verdict)
        XCTAssertEqual(try client.call("DEL", "l", "d", "s"), .integer(3))
        XCTAssertEqual(Int(try info(client, "objects")["objects"] ?? ""), 0)
        XCTAssertEqual(try client.call("NEW", "after", "bytes", "3000000"), .simple("OK"))
    }
}

/// heapd under an address-space limit with no cap of its own: the OS refusing memory is `LIMIT`
/// too, never an abort (issue 9: `NEW b0 bytes 3000000000` twice under `ulimit -v 6000000`).
final class OutOfMemoryIntegrationTests: XCTestCase {
    func testAllocationTheSystemRefusesIsALimitErrorNotACrash() throws {
        try XCTSkipIf(runningUnderSanitizer, "a sanitizer's shadow memory cannot be mapped under ulimit -v")
        let heapd = try HeapdProcess(arguments: ["--max-memory", "0"], shellPrefix: "ulimit -v 6000000")
        defer { heapd.stop() }
        let client = try heapd.connect()
        defer { client.close() }
        XCTAssertEqual(try client.call("NEW", "b0", "bytes", "3000000000"), .simple("OK"))
        XCTAssertErrorCode(try client.call("NEW", "b1", "bytes", "3000000000"), "LIMIT")
        XCTAssertEqual(try client.call("PING"), .simple("PONG"))
        XCTAssertEqual(try client.call("DEL", "b0"), .integer(1))
        XCTAssertEqual(try client.call("NEW", "b1", "bytes", "3000000000"), .simple("OK"))
        XCTAssertTrue(heapd.isRunning, "heapd died: \(heapd.stderrText())")
    }

    func testTheDefaultCapIsAShareOfTheCgroupOrTheMachine() {
        XCTAssertEqual(MemoryCap.defaultCap(cgroupMemoryMax: "max\n", physicalBytes: 1 << 30), 1 << 29)
        XCTAssertEqual(MemoryCap.defaultCap(cgroupMemoryMax: "1073741824\n", physicalBytes: 8 << 30), 805_306_368)
        XCTAssertEqual(MemoryCap.defaultCap(cgroupMemoryMax: nil, physicalBytes: 4 << 30), 2 << 30)
    }

    func testTheCapIsALimitSettingWithSizeSuffixes() {
        XCTAssertEqual(LimitSetting.maxMemory.parse("0"), 0)
        XCTAssertEqual(LimitSetting.maxMemory.parse("1048576"), 1 << 20)
        XCTAssertEqual(LimitSetting.maxMemory.parse("64mb"), 64 << 20)
        XCTAssertEqual(LimitSetting.maxMemory.parse("2G"), 2 << 30)
        XCTAssertNil(LimitSetting.maxMemory.parse("-1"))
        XCTAssertNil(LimitSetting.maxMemory.parse("lots"))
        XCTAssertNil(LimitSetting.maxMemory.parse("99999999999999999g"), "overflow is an error, not a wrap")
    }
}
