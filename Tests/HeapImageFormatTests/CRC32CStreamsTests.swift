import XCTest

@testable import HeapImageFormat

/// The three-stream CRC32C gives the one-stream value for every length around its cuts, from any start.
final class CRC32CStreamsTests: XCTestCase {
    func testStreamsGiveTheOneStreamValue() {
        var random = SystemRandomNumberGenerator()
        let bytes = (0..<80_000).map { _ in UInt8.random(in: 0...255, using: &random) }
        for length in [0, 1, 100, CRC32C.streamsThreshold - 1, CRC32C.streamsThreshold]
            + Array(CRC32C.streamsThreshold + 1...CRC32C.streamsThreshold + 40) + [50_001, 69_999]
        {
            for (start, crc) in [(0, UInt32(0)), (3, 0xDEAD_BEEF)] {
                let slice = bytes[start..<start + length]
                XCTAssertEqual(
                    CRC32C.checksumInStreams(slice, continuing: crc), CRC32C.checksum(slice, continuing: crc),
                    "length \(length) from \(start)")
            }
        }
        XCTAssertEqual(
            CRC32C.combine(CRC32C.checksum(Array("1234".utf8)), CRC32C.checksum(Array("56789".utf8)), length: 5),
            0xE306_9283)
    }
}
