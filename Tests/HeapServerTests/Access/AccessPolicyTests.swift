import HeapdTesting
import XCTest

@testable import HeapServer

/// The order in which a policy decides a role (AccessPolicy's documentation), without any socket.
final class AccessPolicyTests: XCTestCase {
    let heapdUID: UInt32 = 995

    func testWithoutRulesRootAndHeapdsOwnUserAreAdminsAndEveryoneElseGetsTheDefault() {
        var policy = AccessPolicy(ownUID: heapdUID)
        XCTAssertEqual(policy.role(uid: 0, gid: 0), .admin)
        XCTAssertEqual(policy.role(uid: heapdUID, gid: 1234), .admin)
        XCTAssertEqual(policy.role(uid: 1000, gid: 1000), .user)
        policy.defaultRole = .monitor
        XCTAssertEqual(policy.role(uid: 1000, gid: 1000), .monitor)
        XCTAssertEqual(policy.role(uid: 0, gid: 0), .admin, "the default role never demotes root")
    }

    func testAUIDRuleWinsOverTheBuiltInAdminsAndOverGroups() throws {
        var policy = AccessPolicy(ownUID: heapdUID)
        try policy.assign(.uid(0), to: .monitor)
        try policy.assign(.gid(0, members: []), to: .admin)
        try policy.assign(.uid(1000), to: .monitor)
        try policy.assign(.gid(50, members: [1000]), to: .admin)
        XCTAssertEqual(policy.role(uid: 0, gid: 0), .monitor, "root is demoted only by a rule naming uid 0")
        XCTAssertEqual(policy.role(uid: 1000, gid: 50), .monitor)
        XCTAssertEqual(policy.role(uid: heapdUID, gid: 1), .admin)
    }

    func testGroupRulesNeverDemoteTheBuiltInAdmins() throws {
        var policy = AccessPolicy(ownUID: heapdUID)
        try policy.assign(.gid(0, members: [heapdUID]), to: .monitor)
        XCTAssertEqual(policy.role(uid: 0, gid: 0), .admin)
        XCTAssertEqual(policy.role(uid: heapdUID, gid: 0), .admin)
        XCTAssertEqual(policy.role(uid: 1000, gid: 0), .monitor, "anyone else whose primary group is 0")
    }

    func testGroupsMatchByPrimaryGIDOrByMembershipAndTheMostPrivilegedWins() throws {
        var policy = AccessPolicy(ownUID: heapdUID, defaultRole: .monitor)
        try policy.assign(.gid(100, members: [1001, 1002]), to: .user)
        try policy.assign(.gid(200, members: [1002]), to: .admin)
        XCTAssertEqual(policy.role(uid: 1003, gid: 100), .user, "primary gid")
        XCTAssertEqual(policy.role(uid: 1001, gid: 1001), .user, "listed member")
        XCTAssertEqual(policy.role(uid: 1002, gid: 1002), .admin, "member of both: the more privileged")
        XCTAssertEqual(policy.role(uid: 1003, gid: 200), .admin)
        XCTAssertEqual(policy.role(uid: 1001, gid: 200), .admin, "primary admin group beats member of user group")
        XCTAssertEqual(policy.role(uid: 1004, gid: 1004), .monitor)
        XCTAssertEqual(policy.ruleCount, 2)
    }

    func testOnePrincipalInTwoRolesIsAnErrorButRepeatingItIsNot() throws {
        var policy = AccessPolicy(ownUID: heapdUID)
        try policy.assign(.uid(7), to: .user)
        try policy.assign(.uid(7), to: .user)
        XCTAssertThrowsError(try policy.assign(.uid(7), to: .admin)) {
            XCTAssertEqual("\($0)", "uid:7 is given two roles, user and admin")
        }
        try policy.assign(.gid(7, members: []), to: .admin)
        XCTAssertThrowsError(try policy.assign(.gid(7, members: []), to: .monitor))
    }

    func testPrincipalsAreReadThroughTheDirectory() throws {
        let directory = PrincipalDirectory(
            userID: { $0 == "alice" ? 1000 : nil }, groupID: { $0 == "ops" ? 50 : nil },
            members: { $0 == 50 ? [1000, 1001] : [] })
        XCTAssertEqual(try directory.principal("uid:12"), .uid(12))
        XCTAssertEqual(try directory.principal("user:alice"), .uid(1000))
        XCTAssertEqual(try directory.principal("group:ops"), .gid(50, members: [1000, 1001]))
        XCTAssertEqual(try directory.principal("gid:50"), .gid(50, members: [1000, 1001]))
        XCTAssertThrowsError(try directory.principal("user:bob")) {
            XCTAssertEqual($0 as? PrincipalError, .unknown("user:bob"))
        }
        for bad in ["alice", "uid:", "uid:-1", "uid:x", "host:a", ":1"] {
            XCTAssertThrowsError(try directory.principal(bad), bad) {
                XCTAssertEqual($0 as? PrincipalError, .malformed(bad))
            }
        }
    }

    func testTheSystemDirectoryKnowsRoot() throws {
        XCTAssertEqual(try PrincipalDirectory.system.principal("user:root"), .uid(0))
        guard case .gid(0, _) = try PrincipalDirectory.system.principal("group:root") else {
            return XCTFail("group root")
        }
    }

    func testRolesAreOrderedAndNamed() {
        XCTAssertLessThan(ClientRole.monitor, .user)
        XCTAssertLessThan(ClientRole.user, .admin)
        XCTAssertEqual(ClientRole(name: "ADMIN"), .admin)
        XCTAssertNil(ClientRole(name: "root"))
    }
}
