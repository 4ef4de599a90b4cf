import HeapdTesting
import XCTest

@testable import HeapServer

final class SocketPermissionsTests: XCTestCase {
    func testModesAreOctalPermissionBits() {
        XCTAssertEqual(SocketPermissions.parseMode("0660"), 0o660)
        XCTAssertEqual(SocketPermissions.parseMode("600"), 0o600)
        XCTAssertEqual(SocketPermissions.parseMode("0o640"), 0o640)
        XCTAssertEqual(SocketPermissions.parseMode("0"), 0)
        for bad in ["", "0999", "1777", "04660", "rw-rw----", "-1", "0x1b6"] {
            XCTAssertNil(SocketPermissions.parseMode(bad), bad)
        }
    }

    func testGroupsAreANameAGIDOrNone() {
        XCTAssertEqual(SocketPermissions.Group(parsing: "heapd-clients"), .named("heapd-clients"))
        XCTAssertEqual(SocketPermissions.Group(parsing: "990"), .id(990))
        XCTAssertEqual(SocketPermissions.Group(parsing: "none"), SocketPermissions.Group.none)
        XCTAssertEqual(SocketPermissions.Group(parsing: ""), SocketPermissions.Group.none)
    }

    func testTheDefaultIs0660WithAGroupElse0600() throws {
        XCTAssertEqual(try SocketPermissions(group: .none).resolved().mode, 0o600)
        XCTAssertNil(try SocketPermissions(group: .none).resolved().gid)
        XCTAssertEqual(try SocketPermissions(group: .id(4)).resolved().mode, 0o660)
        XCTAssertEqual(try SocketPermissions(mode: 0o640, group: .id(4)).resolved().mode, 0o640)
        XCTAssertEqual(try SocketPermissions(group: .named("root")).resolved().gid, 0)
        XCTAssertThrowsError(try SocketPermissions(group: .named("no-such-group-heapd")).resolved())
        let automatic = try SocketPermissions().resolved()
        let clients = SystemDatabase.group(named: SocketPermissions.defaultGroupName)?.gid
        XCTAssertEqual(automatic.gid, clients)
        XCTAssertEqual(automatic.mode, clients == nil ? 0o600 : 0o660)
    }
}
