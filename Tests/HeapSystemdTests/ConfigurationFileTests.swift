import Foundation
import HeapServer
import HeapSystemd
import Logging
import XCTest

final class ConfigurationFileTests: XCTestCase {
    func testLogLevelWithCommentsAndBlankLines() throws {
        let text = "# heapd\n\n  log-level = DEBUG   # louder\n"
        XCTAssertEqual(try ConfigurationFile.parse(text, source: "t"), ConfigurationSettings(logLevel: .debug))
        XCTAssertEqual(try ConfigurationFile.parse("", source: "t"), ConfigurationSettings())
    }

    func testErrorsNameTheFileAndLine() {
        XCTAssertThrowsError(try ConfigurationFile.parse("\nlog-level = loud", source: "/etc/heapd/heapd.conf")) {
            XCTAssertTrue("\($0)".hasPrefix("/etc/heapd/heapd.conf:2: log-level 'loud' is not one of trace"), "\($0)")
        }
        XCTAssertThrowsError(try ConfigurationFile.parse("threads = 4", source: "f")) {
            XCTAssertTrue(
                "\($0)".hasPrefix(
                    "f:1: unknown key 'threads' (keys: log-level, socket-mode, socket-group, default-role, admin, user, monitor, max-clients,"
                ), "\($0)")
        }
        XCTAssertThrowsError(try ConfigurationFile.parse("max-reply = lots", source: "f")) {
            XCTAssertEqual("\($0)", "f:1: max-reply 'lots' is not a number of bytes (K, M, G suffixes)")
        }
    }

    func testLimitsAreReadWithTheirUnits() throws {
        let settings = try ConfigurationFile.parse(
            "max-reply = 16M  # replies\noutput-limit = 64MiB\ncommand-time-limit = 500\nmax-clients = 100\n",
            source: "t")
        XCTAssertEqual(
            settings.limits, [.maxReply: 16 << 20, .outputLimit: 64 << 20, .commandTimeLimit: 500, .maxClients: 100])
        XCTAssertNil(LimitSetting.commandTimeLimit.parse("5s"), "only byte sizes take suffixes")
        XCTAssertNil(LimitSetting.maxReply.parse("99999999999999999999G"), "overflow is refused, not wrapped")
        XCTAssertThrowsError(try ConfigurationFile.parse("log-level", source: "f")) {
            XCTAssertTrue("\($0)".contains("expected 'key = value'"))
        }
    }

    func testAMissingFileIsEmpty() throws {
        XCTAssertEqual(try ConfigurationFile.load(path: "/nonexistent/heapd.conf"), ConfigurationSettings())
    }

    func testTheShippedExampleParses() throws {
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("systemd/heapd.conf").path
        XCTAssertEqual(try ConfigurationFile.load(path: shipped), ConfigurationSettings(logLevel: .info))
    }

    /// A directory that knows two users and a group, so the tests do not depend on the machine's.
    let directory = PrincipalDirectory(
        userID: { ["alice": 1000, "prometheus": 990][$0] }, groupID: { ["heapd-admins": 50][$0] },
        members: { $0 == 50 ? [1001] : [] })

    func testThePolicyKeysBuildAnAccessPolicy() throws {
        let text = """
            default-role = monitor
            admin = user:alice, group:heapd-admins   # names are looked up once
            monitor = user:prometheus uid:991
            user = gid:100
            monitor = uid:992                        # a key may repeat
            """
        let settings = try ConfigurationFile.parse(text, source: "t", directory: directory)
        var expected = AccessPolicy(ownUID: geteuid(), defaultRole: .monitor)
        try expected.assign(.uid(1000), to: .admin)
        try expected.assign(.gid(50, members: [1001]), to: .admin)
        try expected.assign(.uid(990), to: .monitor)
        try expected.assign(.uid(991), to: .monitor)
        try expected.assign(.gid(100, members: []), to: .user)
        try expected.assign(.uid(992), to: .monitor)
        XCTAssertEqual(settings.accessPolicy, expected)
        XCTAssertEqual(settings.accessPolicy.role(uid: 1001, gid: 1001), .admin, "a listed member of heapd-admins")
        XCTAssertEqual(settings.accessPolicy.role(uid: 5000, gid: 5000), .monitor)
        XCTAssertEqual(try ConfigurationFile.parse("", source: "t").accessPolicy, AccessPolicy(ownUID: geteuid()))
    }

    func testSocketKeys() throws {
        let settings = try ConfigurationFile.parse("socket-mode = 0640\nsocket-group = heapd-clients\n", source: "t")
        XCTAssertEqual(settings.socketMode, 0o640)
        XCTAssertEqual(settings.socketGroup, .named("heapd-clients"))
        XCTAssertEqual(
            try ConfigurationFile.parse("socket-group = none", source: "t").socketGroup, SocketPermissions.Group.none)
    }

    func testPolicyAndSocketErrorsNameTheFileAndLine() {
        let cases = [
            ("admin = user:bob", "f:1: 'user:bob' names no such user or group"),
            ("admin = alice", "f:1: 'alice' is not uid:N, gid:N, user:NAME or group:NAME"),
            ("admin = uid:7\nuser = uid:7", "f:2: uid:7 is given two roles, admin and user"),
            ("monitor =", "f:1: expected 'key = value', got 'monitor ='"),
            ("default-role = root", "f:1: default-role 'root' is not one of admin, user, monitor"),
            ("socket-mode = 0999", "f:1: socket-mode '0999' is not octal permission bits (0600, 0660, …)"),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try ConfigurationFile.parse(text, source: "f", directory: directory), text) {
                XCTAssertEqual("\($0)", message)
            }
        }
    }
}
