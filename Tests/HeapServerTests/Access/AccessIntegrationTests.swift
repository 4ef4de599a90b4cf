import Foundation
import HeapClient
import HeapProtocol
import HeapdTesting
import XCTest

/// Who may connect and what they may do, against the real heapd over its real socket: the socket's mode
/// whatever the umask, roles from a policy in the configuration file, DENIED replies, CLIENT LIST, the
/// refusal log, and a reload that changes roles.
///
/// The tests run as root, whom the built-in policy makes admin. To act as another role most of them use
/// the rule that comes first in the policy's order, a rule naming their own uid (`monitor = uid:0`): the
/// policy is the same code whoever connects. One test also runs a real client as `nobody` (through
/// `setpriv`), to see the socket's mode keep it out and the kernel's credentials give it the default role.
final class AccessIntegrationTests: XCTestCase {
    /// A scratch directory for configuration files, removed after each test.
    var scratch: String!

    override func setUpWithError() throws {
        scratch = try makeTemporaryDirectory()
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: scratch)
    }

    /// Starts heapd with a configuration file holding `configuration` (when given) and `arguments`.
    func start(configuration: String? = nil, arguments: [String] = [], umask mask: mode_t? = nil) throws -> HeapdProcess
    {
        var all = arguments
        if let configuration {
            let path = scratch + "/heapd.conf"
            try configuration.write(toFile: path, atomically: true, encoding: .utf8)
            all += ["--config", path]
        }
        guard let mask else { return try HeapdProcess(arguments: all) }
        return try withUmask(mask) { try HeapdProcess(arguments: all) }
    }

    /// Waits until heapd counts `count` clients: the harness's own probe connection, closed before a test
    /// starts, may still be registered for a moment on a loaded machine.
    func waitForClients(_ count: Int, _ client: HeapConnection) throws {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            guard case .bulk(let bytes) = try client.call("INFO", "clients") else { return }
            if String(decoding: bytes, as: UTF8.self).contains("connected_clients:\(count)\r\n") { return }
            usleep(20_000)
        }
    }

    // MARK: The socket

    func testTheSocketIsPrivateEvenUnderUmask000() throws {
        let heapd = try start(umask: 0)
        defer { heapd.stop() }
        let info = try fileStatus(heapd.socketPath)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFSOCK)
        if let clients = getgrnam("heapd-clients") {
            XCTAssertEqual(info.st_mode & 0o777, 0o660)
            XCTAssertEqual(info.st_gid, clients.pointee.gr_gid)
        } else {
            XCTAssertEqual(info.st_mode & 0o777, 0o600, "no heapd-clients group here: owner only")
        }
        let client = try heapd.connect()
        defer { client.close() }
        XCTAssertEqual(try client.call("PING"), .simple("PONG"))
    }

    func testSocketGroupAndModeFromFlagsAndFromTheFileWhereNoFlagSetsThem() throws {
        let gid = getgrnam("daemon")?.pointee.gr_gid ?? 1
        let flagged = try start(arguments: ["--socket-group", "\(gid)"], umask: 0)
        defer { flagged.stop() }
        var info = try fileStatus(flagged.socketPath)
        XCTAssertEqual(info.st_mode & 0o777, 0o660, "a group makes the default 0660")
        XCTAssertEqual(info.st_gid, gid)
        flagged.stop()

        let filed = try start(
            configuration: "socket-mode = 0640\nsocket-group = \(gid)\n", arguments: ["--socket-mode", "0620"],
            umask: 0)
        defer { filed.stop() }
        info = try fileStatus(filed.socketPath)
        XCTAssertEqual(info.st_mode & 0o777, 0o620, "the flag wins over the file")
        XCTAssertEqual(info.st_gid, gid, "the file's group where no flag sets one")
        filed.stop()

        XCTAssertThrowsError(try start(arguments: ["--socket-group", "no-such-group-heapd"])) { error in
            guard case HeapdProcess.HarnessError.exited(let status, let stderr) = error else {
                return XCTFail("\(error)")
            }
            XCTAssertNotEqual(status, 0)
            XCTAssertTrue(stderr.contains("socket group 'no-such-group-heapd' does not exist"), stderr)
        }
        XCTAssertThrowsError(try start(arguments: ["--socket-mode", "0999"]))
    }

    /// Runs a Python client as `nobody` (uid and gid 65534, no groups) that sends `commands` to `socket`,
    /// half-closes and prints every byte heapd answers, or `EACCES` when it may not connect.
    func runAsNobody(socket: String, _ commands: [String]) throws -> String {
        let script = """
            import socket, sys
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(sys.argv[1])
            except PermissionError:
                print("EACCES")
                sys.exit(0)
            s.sendall("".join(line + "\\n" for line in sys.argv[2:]).encode())
            s.shutdown(socket.SHUT_WR)
            out = b""
            while chunk := s.recv(65536):
                out += chunk
            sys.stdout.write(out.decode())
            """
        let result = try ChildProcess.run(
            "/usr/bin/setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", script, socket] + commands)
        return result.stdout
    }

    func testAnotherUserIsKeptOutByTheSocketModeAndOtherwiseGetsTheDefaultRole() throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
            FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")
        else { throw XCTSkip("needs root, setpriv and /usr/bin/python3 to run a client as nobody") }
        let private_ = try start()
        defer { private_.stop() }
        chmod(private_.directory, 0o711)  // nobody may reach the socket file; its mode decides
        XCTAssertEqual(try runAsNobody(socket: private_.socketPath, ["PING"]), "EACCES\n")
        private_.stop()

        let open = try start(arguments: ["--socket-mode", "0666"])
        defer { open.stop() }
        chmod(open.directory, 0o711)
        let replies = try runAsNobody(socket: open.socketPath, ["CLIENT INFO", "NEW a list", "GC DISABLE"])
        XCTAssertTrue(replies.contains(" uid=65534 gid=65534 "), replies)
        XCTAssertTrue(replies.contains(" role=user "), "the default role: \(replies)")
        XCTAssertTrue(replies.contains("+OK\r\n-DENIED GC DISABLE requires role admin (client role user)\r\n"), replies)
    }

    // MARK: Roles

    func testAMonitorReadsButIsDeniedEveryChange() throws {
        let heapd = try start(configuration: "monitor = uid:\(getuid())\n")
        defer { heapd.stop() }
        let client = try heapd.connect()
        defer { client.close() }
        let denied = try client.call("NEW", "a", "list")
        XCTAssertEqual(denied, .error(code: "DENIED", message: "NEW requires role user (client role monitor)"))
        XCTAssertErrorCode(try client.call("new", "a"), "DENIED")  // checked before the arity
        XCTAssertErrorCode(try client.call("SCOPE", "PUSH", "f"), "DENIED")
        XCTAssertErrorCode(try client.call("GC", "COLLECT"), "DENIED")
        XCTAssertErrorCode(try client.call("GROWTH"), "DENIED")
        XCTAssertErrorCode(try client.call("AT", "x.heap:1", "SET", "g.a", "g.b"), "DENIED")  // AT does not lift it
        try waitForClients(1, client)
        guard case .bulk(let text) = try client.call("INFO") else { return XCTFail("INFO") }
        XCTAssertTrue(String(decoding: text, as: UTF8.self).contains("clients_by_role:admin=0,user=0,monitor=1"))
        XCTAssertEqual(try client.call("PING"), .simple("PONG"))
        guard case .array = try client.call("TYPES") else { return XCTFail("TYPES") }
        guard case .array = try client.call("GC", "GET_STATS") else { return XCTFail("GC GET_STATS") }
        XCTAssertEqual(try client.call("TRACEMALLOC", "IS_TRACING"), .integer(0))
        XCTAssertEqual(try client.call("VARS"), .array([]))
        XCTAssertErrorCode(try client.call("NOSUCH"), "UNKNOWN")  // unknown commands stay UNKNOWN
        XCTAssertTrue(bulkText(try client.call("CLIENT", "INFO"))?.contains(" role=monitor ") == true)
    }

    func testAUserWorksInItsSessionAndTheGlobalsButCannotSwitchTheCollectorOrTracemalloc() throws {
        let heapd = try start(configuration: "user = uid:\(getuid())\n")
        defer { heapd.stop() }
        let client = try heapd.connect()
        defer { client.close() }
        XCTAssertEqual(try client.call("NEW", "a", "list"), .simple("OK"))
        XCTAssertEqual(try client.call("SET", "g.shared", "a"), .simple("OK"))
        XCTAssertEqual(try client.call("GC", "COLLECT"), .integer(0))
        XCTAssertEqual(
            try client.call("GC", "DISABLE"),
            .error(code: "DENIED", message: "GC DISABLE requires role admin (client role user)"))
        XCTAssertEqual(try client.call("GC", "ISENABLED"), .integer(1), "still enabled")
        for command in [
            ["GC", "ENABLE"], ["GC", "FREEZE"], ["GC", "SET_THRESHOLD", "0"], ["GC", "SET_DEBUG", "STATS"],
            ["TRACEMALLOC", "START"], ["TRACEMALLOC", "CLEAR_TRACES"], ["TRACEMALLOC", "LOAD", "x.json"],
            ["GC", "DEBUG_STALL", "1"],
        ] {
            XCTAssertErrorCode(try client.call(command), "DENIED")
        }
        XCTAssertEqual(
            try client.call("GC", "GARBAGE", "CLEAR"),
            .error(code: "DENIED", message: "GC GARBAGE CLEAR requires role admin (client role user)"))
        XCTAssertEqual(try client.call("GC", "GARBAGE"), .array([.integer(0), .array([])]))
        XCTAssertEqual(try client.call("DEL", "a", "g.shared"), .integer(2))
        guard case .simple(let verdict) = try client.call("DEBUG", "VERIFY") else { return XCTFail("VERIFY") }
        XCTAssertTrue(verdict.hasPrefix("OK"))
    }

    func testClientListShowsEachClientsCredentialsAndRole() throws {
        let heapd = try start(configuration: "default-role = monitor\n")
        defer { heapd.stop() }
        let first = try heapd.connect()
        defer { first.close() }
        let second = try heapd.connect()
        defer { second.close() }
        // A reply proves heapd accepted the connection (connect() returns once the kernel queued it).
        XCTAssertEqual(try second.call("PING"), .simple("PONG"))
        try waitForClients(2, first)
        guard let list = bulkText(try first.call("CLIENT", "LIST")) else { return XCTFail("CLIENT LIST") }
        let lines = list.split(separator: "\n")
        XCTAssertEqual(lines.count, 2, list)
        for line in lines {
            let fields = Dictionary(
                uniqueKeysWithValues: line.split(separator: " ").map {
                    let pair = $0.split(separator: "=", maxSplits: 1)
                    return (String(pair[0]), pair.count > 1 ? String(pair[1]) : "")
                })
            XCTAssertEqual(fields["uid"], "\(getuid())", String(line))
            XCTAssertEqual(fields["gid"], "\(getgid())")
            XCTAssertEqual(fields["pid"], "\(getpid())", "the test process itself is the client")
            XCTAssertEqual(fields["role"], "admin", "root is admin whatever the default role")
            XCTAssertEqual(fields["addr"], heapd.socketPath + ":0")
            XCTAssertNotNil(fields["id"].flatMap(Int.init))
            XCTAssertNotNil(fields["age"].flatMap(Int.init))
        }
        guard case .bulk(let info) = try second.call("INFO", "clients") else { return XCTFail("INFO") }
        let text = String(decoding: info, as: UTF8.self)
        XCTAssertTrue(text.contains("default_role:monitor\r\n"), text)
        XCTAssertTrue(text.contains("clients_by_role:admin=2,user=0,monitor=0\r\n"), text)
        let clientLines = text.split(separator: "\r\n").filter { $0.hasPrefix("client_") && $0.contains(":uid=") }
        XCTAssertEqual(clientLines.count, 2, text)
        XCTAssertTrue(clientLines.allSatisfy { $0.contains(",pid=\(getpid()),role=admin,") }, text)
    }

    func testAReloadJudgesConnectedClientsAgain() throws {
        let heapd = try start(configuration: "monitor = uid:\(getuid())\n")
        defer { heapd.stop() }
        let client = try heapd.connect()
        defer { client.close() }
        XCTAssertErrorCode(try client.call("NEW", "a", "list"), "DENIED")
        try "# no rules: root is admin again\n".write(
            toFile: scratch + "/heapd.conf", atomically: true, encoding: .utf8)
        kill(heapd.pid, SIGHUP)
        let deadline = Date().addingTimeInterval(10)
        var reply = try client.call("NEW", "a", "list")
        while reply != .simple("OK") && Date() < deadline {
            usleep(50_000)
            reply = try client.call("NEW", "a", "list")
        }
        XCTAssertEqual(reply, .simple("OK"), "the open connection is admin after the reload")
        XCTAssertTrue(bulkText(try client.call("CLIENT", "INFO"))?.contains(" role=admin ") == true)
    }

    func testAMalformedPolicyFailsTheStart() throws {
        XCTAssertThrowsError(try start(configuration: "admin = user:no-such-user-heapd\n")) { error in
            guard case HeapdProcess.HarnessError.exited(_, let stderr) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(stderr.contains("names no such user or group"), stderr)
        }
        XCTAssertThrowsError(try start(configuration: "admin = uid:5\nmonitor = uid:5\n"))
    }

    // MARK: Logging refusals

    func testRefusalsAreLoggedOnceASecondPerClientWithUIDAndPID() throws {
        let heapd = try start(configuration: "monitor = uid:\(getuid())\n")
        defer { heapd.stop() }
        let client = try heapd.connect()
        defer { client.close() }
        let replies = try client.pipeline(Array(repeating: ["NEW", "a", "list"], count: 50))
        XCTAssertTrue(replies.allSatisfy { if case .error("DENIED", _) = $0 { true } else { false } })
        usleep(200_000)
        var log = heapd.stderrText()
        let first = log.split(separator: "\n").filter { $0.contains("denied NEW") }
        XCTAssertEqual(first.count, 1, log)
        XCTAssertTrue(first.first?.contains("(uid \(getuid()), pid \(getpid()))") == true, log)
        XCTAssertTrue(first.first?.contains("event=command_denied") == true, log)
        sleep(1)
        XCTAssertErrorCode(try client.call("GC", "DISABLE"), "DENIED")
        usleep(200_000)
        log = heapd.stderrText()
        let next = log.split(separator: "\n").filter { $0.contains("denied GC DISABLE") }
        XCTAssertEqual(next.count, 1, log)
        XCTAssertTrue(next.first?.contains("49 more refused since the last report") == true, log)
    }

    func testRejectedRequestsAreSummarizedNotLoggedOneByOne() throws {
        let heapd = try start()
        defer { heapd.stop() }
        let client = try heapd.connect()
        defer { client.close() }
        // One pipeline, so that all of it falls between two summaries.
        let replies = try client.pipeline(
            Array(repeating: ["NOSUCH", "x"], count: 300) + [["GC", "NOSUCH"], ["PING", "a", "b"]])
        XCTAssertEqual(replies.count, 302)
        XCTAssertErrorCode(replies[0], "UNKNOWN")
        XCTAssertErrorCode(replies[301], "ARGS")
        usleep(300_000)
        let quiet = heapd.stderrText()
        XCTAssertFalse(quiet.contains("NOSUCH"), "no line per rejected request at info level: \(quiet)")
        // One summary within the 10-second interval (plus slack for a loaded machine).
        var log = quiet
        let deadline = Date().addingTimeInterval(15)
        while !log.contains("requests rejected") && Date() < deadline {
            usleep(200_000)
            log += heapd.stderrText()
        }
        let summaries = log.split(separator: "\n").filter { $0.contains("requests rejected in the last 10 s") }
        XCTAssertEqual(summaries.count, 1, log)
        XCTAssertTrue(
            summaries.first?.contains("302 requests rejected in the last 10 s: UNKNOWN 301, ARGS 1") == true, log)
    }
}
