import HeapServer
import HeapSystemd
import XCTest

final class StatusLineTests: XCTestCase {
    func testBeforeTheFirstCollection() {
        let figures = ServerStatistics(
            objects: 0, bytesInUse: 0, clients: 0, collectionsPerGeneration: [0, 0, 0], lastPauseNanoseconds: nil,
            worstPauseNanoseconds: 0)
        XCTAssertEqual(StatusLine.format(figures), "0 objects, 0 B, 0 clients; collections 0/0/0")
    }

    func testWithCollectionsAndPauses() {
        let figures = ServerStatistics(
            objects: 312, bytesInUse: 49_357, clients: 1, collectionsPerGeneration: [41, 3, 1],
            lastPauseNanoseconds: 120_400, worstPauseNanoseconds: 2_310_000)
        XCTAssertEqual(
            StatusLine.format(figures),
            "312 objects, 48.2 KiB, 1 client; collections 41/3/1; pause last 120 us, worst 2.3 ms")
    }

    func testUnhealthyPutsTheReasonFirst() {
        let figures = ServerStatistics(
            objects: 1, bytesInUse: 48, clients: 2, collectionsPerGeneration: [0, 0, 0], lastPauseNanoseconds: nil,
            worstPauseNanoseconds: 0)
        XCTAssertEqual(
            StatusLine.unhealthy("collector stuck", figures),
            "UNHEALTHY: collector stuck; 1 object, 48 B, 2 clients; collections 0/0/0")
    }

    func testUnits() {
        XCTAssertEqual(StatusLine.bytes(1023), "1023 B")
        XCTAssertEqual(StatusLine.bytes(1024), "1.0 KiB")
        XCTAssertEqual(StatusLine.bytes(3 << 30), "3.0 GiB")
        XCTAssertEqual(StatusLine.duration(nanoseconds: 999), "0 us")
        XCTAssertEqual(StatusLine.duration(nanoseconds: 850_000), "850 us")
        XCTAssertEqual(StatusLine.duration(nanoseconds: 1_000_000), "1.0 ms")
        XCTAssertEqual(StatusLine.duration(nanoseconds: 1_500_000_000), "1.5 s")
        XCTAssertEqual(StatusLine.duration(seconds: 0.25), "250.0 ms")
    }
}
