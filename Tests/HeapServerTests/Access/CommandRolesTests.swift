import HeapProtocol
import HeapdTesting
import XCTest

@testable import HeapServer

/// Every command has a role, the dangerous ones need admin, and protocol.md's table says the same.
final class CommandRolesTests: XCTestCase {
    func testEveryCommandIsClassifiedExplicitlyAndTheTableNamesNoOtherCommand() {
        let names = Set(CommandTable.all.map(\.name))
        for name in names.sorted() {
            XCTAssertNotNil(CommandRoles.table[name], "\(name) is not classified in CommandRoles.table")
            XCTAssertEqual(CommandTable.spec(named: name)?.role, CommandRoles.table[name], name)
        }
        XCTAssertEqual(Set(CommandRoles.table.keys).subtracting(names), [], "classified but not a command")
        XCTAssertEqual(Set(CommandRoles.byFirstArgument.keys).subtracting(names), [])
        XCTAssertEqual(CommandRoles.role(of: "SOME NEW COMMAND"), .admin, "an unclassified command fails closed")
    }

    func testTheServerWideSwitchesNeedAdmin() {
        let dangerous = [
            "GC ENABLE", "GC DISABLE", "GC FREEZE", "GC UNFREEZE", "GC SET_THRESHOLD", "GC SET_DEBUG",
            "GC DEBUG_STALL", "TRACEMALLOC START", "TRACEMALLOC STOP", "TRACEMALLOC CLEAR_TRACES",
            "TRACEMALLOC RESET_PEAK", "TRACEMALLOC TAKE_SNAPSHOT", "TRACEMALLOC DROP_SNAPSHOT",
            "TRACEMALLOC FILTER", "TRACEMALLOC DUMP", "TRACEMALLOC LOAD",
        ]
        for name in dangerous { XCTAssertEqual(CommandTable.spec(named: name)?.role, .admin, name) }
        let garbage = CommandTable.spec(named: "GC GARBAGE")!
        XCTAssertEqual(garbage.role(for: Arguments([])), .monitor)
        XCTAssertEqual(garbage.role(for: Arguments([Array("CURSOR".utf8), Array("5".utf8)])), .monitor)
        XCTAssertEqual(garbage.role(for: Arguments([Array("clear".utf8)])), .admin, "case-insensitive")
    }

    func testUsersWorkInTheirSessionAndTheNamespaceAndMonitorsChangeNothing() {
        for name in [
            "NEW", "SET", "DEL", "APPEND", "SETITEM", "SETATTR", "WEAKREF", "FINALIZER", "NEXT", "SUM",
            "SCOPE PUSH", "GC COLLECT", "GROWTH", "DEBUG VERIFY",
        ] {
            XCTAssertEqual(CommandTable.spec(named: name)?.role, .user, name)
        }
        for name in [
            "PING", "INFO", "HELP", "QUIT", "CLIENT LIST", "CLIENT INFO", "GETREFCOUNT", "REPR", "VARS", "TYPES",
            "CHAIN", "GRAPH", "DOCTOR", "GC GET_STATS", "GC GET_OBJECTS", "GC HEARTBEAT", "GC SUBSCRIBE",
            "TRACEMALLOC GET_TRACED_MEMORY", "TRACEMALLOC STATISTICS", "TRACEMALLOC COMPARE", "AT",
        ] {
            XCTAssertEqual(CommandTable.spec(named: name)?.role, .monitor, name)
        }
    }

    /// protocol.md §7 lists the commands of each role in a table; it must match the code's table exactly.
    func testProtocolMarkdownListsTheSameRoles() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("protocol.md"), encoding: .utf8)
        var documented: [String: ClientRole] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 2, let role = ClientRole(name: cells[0].replacingOccurrences(of: "`", with: "")),
                cells[0] == "`\(role)`"
            else { continue }
            for part in cells[1].split(separator: "`", omittingEmptySubsequences: false).enumerated()
            where part.offset % 2 == 1 {
                documented[String(part.element)] = role
            }
        }
        var expected = CommandRoles.table
        for (name, roles) in CommandRoles.byFirstArgument {
            for (argument, role) in roles { expected[name + " " + argument] = role }
        }
        XCTAssertFalse(documented.isEmpty, "protocol.md has no role table")
        for (name, role) in expected.sorted(by: { $0.key < $1.key }) {
            XCTAssertEqual(documented[name], role, "protocol.md's role of \(name)")
        }
        XCTAssertEqual(Set(documented.keys).subtracting(expected.keys), [], "documented but not classified")
    }
}
