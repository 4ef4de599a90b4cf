import Foundation
import HeapdTesting
import XCTest

/// The shipped units pass `systemd-analyze verify` with no output, rate "SAFE" in
/// `systemd-analyze security --offline=yes`, and journalctl compiles the catalog
/// (tests/systemd/verify-units.sh does the work; CI runs it through this test).
final class UnitFileTests: SystemdTestCase {
    func testShippedUnitsVerifyCleanScoreSafeAndTheCatalogCompiles() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") else {
            throw XCTSkip("systemd-analyze not installed (Debian package systemd)")
        }
        let root = MessageCatalogTests.root
        let directory = try makeDirectory()
        let script = try start(
            "/bin/bash", [root.appendingPathComponent("tests/systemd/verify-units.sh").path, BuildProducts.heapd],
            directory: directory)
        let status = script.wait(timeout: 60).status
        let output = script.stderr
        XCTAssertEqual(status, 0, output)
    }
}
