import Foundation
import HeapClient
import HeapProtocol
import HeapdTesting
import XCTest

/// heapd as Redis clients of today meet it, over its real socket: `HELLO` and RESP3 per connection,
/// push events, `CLIENT SETNAME`/`GETNAME`/`ID`/`SETINFO`/`KILL`, and the command table in Redis 7's
/// shapes, checked the way redis-cli 7 reads it (and, where tmux is installed, by redis-cli itself).
final class RedisClientIntegrationTests: HeapdTestCase {
    // MARK: HELLO

    func testHelloSwitchesOnlyItsOwnConnectionToResp3() throws {
        let resp3 = try heapd.connect()
        let resp2 = try heapd.connect()
        guard case .integer(let id) = try resp3.call("CLIENT", "ID") else { return XCTFail("CLIENT ID") }
        let hello = try resp3.call("HELLO", "3")
        XCTAssertEqual(
            hello,
            .map([
                .init("server", .bulk("heapd")), .init("version", .bulk("0.1.0")), .init("proto", .integer(3)),
                .init("id", .integer(id)), .init("mode", .bulk("standalone")), .init("role", .bulk("master")),
                .init("modules", .array([])),
            ]))
        XCTAssertEqual(try resp3.call("GC", "ISENABLED"), .boolean(true))
        XCTAssertEqual(try resp2.call("GC", "ISENABLED"), .integer(1), "the other connection still speaks RESP2")
        guard case .array(let stats3) = try resp3.call("GC", "GET_STATS"), case .map(let gen0) = stats3.first
        else { return XCTFail("GC GET_STATS in RESP3") }
        XCTAssertEqual(stats3.count, 3)
        XCTAssertEqual(gen0.map(\.key).first, .bulk("collections"))
        guard case .array(let stats2) = try resp2.call("GC", "GET_STATS"), case .array(let pairs) = stats2.first
        else { return XCTFail("GC GET_STATS in RESP2") }
        XCTAssertEqual(pairs.count, 14, "RESP2: the flat name/value array, as before RESP3")
        XCTAssertEqual(try resp3.call("CLIENT", "GETNAME"), .null)
        // HELLO without arguments changes nothing; HELLO 2 goes back.
        guard case .map(let again) = try resp3.call("HELLO") else { return XCTFail("HELLO") }
        XCTAssertTrue(again.contains(.init("proto", .integer(3))))
        guard case .array(let flat) = try resp3.call("HELLO", "2") else { return XCTFail("HELLO 2 in RESP2 form") }
        XCTAssertEqual(flat.count, 14)
        XCTAssertEqual(try resp3.call("GC", "ISENABLED"), .integer(1))
    }

    func testHelloRefusesWhatItCannotDoAndChangesNothing() throws {
        let client = try heapd.connect()
        XCTAssertErrorCode(try client.call("HELLO", "4"), "NOPROTO")
        XCTAssertErrorCode(try client.call("HELLO", "1"), "NOPROTO")
        XCTAssertErrorCode(try client.call("HELLO", "three"), "SYNTAX")
        XCTAssertErrorCode(try client.call("HELLO", "3", "SETNAME"), "SYNTAX")
        XCTAssertErrorCode(try client.call("HELLO", "3", "SETNAME", "two words"), "SYNTAX")
        XCTAssertErrorCode(try client.call("HELLO", "3", "BOGUS", "x"), "SYNTAX")
        XCTAssertErrorCode(try client.call("HELLO", "3", "AUTH", "user"), "SYNTAX")
        XCTAssertEqual(try client.call("GC", "ISENABLED"), .integer(1), "still RESP2 after every refusal")
        XCTAssertEqual(try client.call("CLIENT", "GETNAME"), .null)
        // AUTH is accepted with any credentials (the role comes from the kernel), SETNAME applies.
        guard case .map = try client.call("HELLO", "3", "AUTH", "default", "anything", "SETNAME", "worker-1")
        else { return XCTFail("HELLO 3 AUTH … SETNAME …") }
        XCTAssertEqual(try client.call("CLIENT", "GETNAME"), .bulk("worker-1"))
    }

    func testResp3WireBytes() throws {
        let raw = try RawClient(socketPath: heapd.socketPath)
        let requests = "HELLO 3\r\nGC IS_TRACKED #999\r\nCLIENT GETNAME\r\nGC ISENABLED\r\nHELLO 2\r\nGC ISENABLED\r\n"
        XCTAssertEqual(raw.sendAll(Array(requests.utf8)), requests.utf8.count)
        var text = ""
        let deadline = Date().addingTimeInterval(5)
        while !text.hasSuffix("\r\n:1\r\n") && Date() < deadline {
            text += String(decoding: raw.read(atLeast: 1, timeout: 1), as: UTF8.self)
        }
        XCTAssertTrue(text.hasPrefix("%7\r\n$6\r\nserver\r\n$5\r\nheapd\r\n"), text)
        XCTAssertTrue(text.contains("$5\r\nproto\r\n:3\r\n"), text)
        // An error is the same line in both; nil is `_`, a boolean `#t`; back in RESP2, `*14` and `:1`.
        XCTAssertTrue(text.contains("\r\n-NOOBJ "), text)
        XCTAssertTrue(text.contains("\r\n_\r\n#t\r\n*14\r\n$6\r\nserver\r\n"), text)
        XCTAssertTrue(text.hasSuffix("*0\r\n:1\r\n"), text)
    }

    // MARK: Push events

    func testResp3SubscriberGetsPushMessagesAndMayRunCommands() throws {
        let resp3 = try heapd.connect()
        let resp2 = try heapd.connect()
        _ = try resp3.call("HELLO", "3")
        XCTAssertEqual(try resp3.call("GC", "SUBSCRIBE"), .array([.bulk("subscribe"), .bulk("gc"), .integer(1)]))
        XCTAssertEqual(try resp2.call("GC", "SUBSCRIBE"), .array([.bulk("subscribe"), .bulk("gc"), .integer(1)]))
        XCTAssertErrorCode(try resp2.call("NEW", "x", "list"), "SUBSCRIBED")
        // In RESP3 a subscribed connection runs anything; its events come as pushes among the replies.
        XCTAssertEqual(try resp3.call("NEW", "x", "list"), .ok)
        try resp3.send(["GC", "COLLECT"])
        var pushes: [[Reply]] = []
        var reply: Reply?
        let deadline = Date().addingTimeInterval(10)
        while reply == nil || pushes.count < 2, Date() < deadline {
            switch try resp3.readReply() {
            case .push(let event): pushes.append(event)
            case let other: reply = other
            }
        }
        XCTAssertEqual(reply, .integer(0))
        XCTAssertEqual(pushes.first, [.bulk("gc-start"), .integer(2)])
        XCTAssertEqual(pushes.dropFirst().first?.first, .bulk("gc-stop"))
        // The RESP2 subscriber got the same events as arrays.
        XCTAssertEqual(try resp2.readReply(), .array([.bulk("gc-start"), .integer(2)]))
        guard case .array(let stop) = try resp2.readReply() else { return XCTFail("gc-stop in RESP2") }
        XCTAssertEqual(stop.first, .bulk("gc-stop"))
        XCTAssertEqual(try resp3.call("GC", "UNSUBSCRIBE"), .array([.bulk("unsubscribe"), .bulk("gc"), .integer(0)]))
        XCTAssertEqual(try resp2.call("GC", "UNSUBSCRIBE"), .array([.bulk("unsubscribe"), .bulk("gc"), .integer(0)]))
    }

    // MARK: CLIENT

    func testClientNameLibraryAndId() throws {
        let client = try heapd.connect()
        guard case .integer(let id) = try client.call("CLIENT", "ID"), id > 0 else { return XCTFail("CLIENT ID") }
        XCTAssertEqual(try client.call("CLIENT", "SETNAME", "loader"), .ok)
        XCTAssertEqual(try client.call("CLIENT", "GETNAME"), .bulk("loader"))
        XCTAssertEqual(try client.call("CLIENT", "SETINFO", "lib-name", "redis-py"), .ok)
        XCTAssertEqual(try client.call("CLIENT", "SETINFO", "LIB-VER", "8.1.0"), .ok)
        XCTAssertErrorCode(try client.call("CLIENT", "SETINFO", "LIB-COLOUR", "red"), "SYNTAX")
        XCTAssertErrorCode(try client.call("CLIENT", "SETNAME", "has space"), "SYNTAX")
        XCTAssertErrorCode(try client.call("CLIENT", "SETNAME", "line\nbreak"), "SYNTAX")
        XCTAssertErrorCode(try client.call("CLIENT", "SETNAME"), "ARGS")
        let other = try heapd.connect()
        let list = bulkText(try other.call("CLIENT", "LIST")) ?? ""
        let line = list.split(separator: "\n").first { $0.hasPrefix("id=\(id) ") } ?? ""
        XCTAssertTrue(line.hasSuffix(" name=loader lib-name=redis-py lib-ver=8.1.0"), String(line))
        XCTAssertEqual(try client.call("CLIENT", "SETNAME", ""), .ok, "an empty name clears it")
        XCTAssertEqual(try client.call("CLIENT", "GETNAME"), .null)
    }

    func testClientKillClosesTheSessionAndReleasesWhatItHeld() throws {
        let admin = try heapd.connect()
        let victim = try heapd.connect()
        guard case .integer(let victimID) = try victim.call("CLIENT", "ID") else { return XCTFail("CLIENT ID") }
        let baseline = Int(try info(admin, "objects")["objects"]!)!
        XCTAssertEqual(try victim.call("NEW", "big", "list"), .ok)
        XCTAssertEqual(Int(try info(admin, "objects")["objects"]!)!, baseline + 1)
        XCTAssertEqual(try admin.call("CLIENT", "KILL", "ID", "\(victimID)"), .integer(1))
        // It closes after what its loop runs now: poll, bounded.
        var closed = false
        let closing = Date().addingTimeInterval(5)
        while !closed && Date() < closing {
            do { _ = try victim.call("PING") } catch { closed = true }
        }
        XCTAssertTrue(closed, "the victim's connection is closed")
        let deadline = Date().addingTimeInterval(5)
        while Int(try info(admin, "objects")["objects"]!)! != baseline && Date() < deadline { usleep(10_000) }
        XCTAssertEqual(Int(try info(admin, "objects")["objects"]!)!, baseline, "its list was released")
        XCTAssertEqual(try admin.call("CLIENT", "KILL", "ID", "\(victimID)"), .integer(0))
        // One argument is Redis's old form, an address: no client has the address "ID".
        XCTAssertErrorCode(try admin.call("CLIENT", "KILL", "ID"), "VALUE")
        XCTAssertErrorCode(try admin.call("CLIENT", "KILL", "ID", "1", "SKIPME"), "SYNTAX")
        XCTAssertErrorCode(try admin.call("CLIENT", "KILL", "ID", "-3"), "SYNTAX")
        XCTAssertErrorCode(try admin.call("CLIENT", "KILL", "COLOUR", "red"), "SYNTAX")
        XCTAssertErrorCode(try admin.call("CLIENT", "KILL", "/nowhere:0"), "VALUE")
        // SKIPME yes (the default) spares the caller, even when its address matches.
        guard case .integer(let adminID) = try admin.call("CLIENT", "ID") else { return XCTFail("CLIENT ID") }
        XCTAssertEqual(try admin.call("CLIENT", "KILL", "ID", "\(adminID)"), .integer(0))
        XCTAssertEqual(try admin.call("PING"), .simple("PONG"))
        // SKIPME no: the caller gets its reply, then is closed.
        XCTAssertEqual(try admin.call("CLIENT", "KILL", "ID", "\(adminID)", "SKIPME", "no"), .integer(1))
        XCTAssertThrowsError(try admin.call("PING"))
    }

    // MARK: COMMAND

    func testCommandInfoInRedisShapes() throws {
        let client = try heapd.connect()
        guard case .array(let names) = try client.call("COMMAND", "LIST") else { return XCTFail("COMMAND LIST") }
        let top = names.compactMap(bulkText).filter { !$0.contains("|") }
        XCTAssertTrue(top.contains("new") && top.contains("gc") && names.contains(.bulk("gc|collect")))
        XCTAssertEqual(try client.call("COMMAND", "COUNT"), .integer(Int64(top.count)))
        guard case .array(let all) = try client.call("COMMAND") else { return XCTFail("COMMAND") }
        XCTAssertEqual(all.count, top.count)
        let info = try client.call("COMMAND", "INFO", "new", "GC|COLLECT", "gc collect", "nosuch", "client|kill")
        guard case .array(let entries) = info, entries.count == 5 else { return XCTFail("\(info)") }
        XCTAssertEqual(
            entries[0],
            .array([
                .bulk("new"), .integer(-3), .array([.simple("write")]), .integer(0), .integer(0), .integer(0),
                .array([.simple("@write")]), .array([]), .array([]), .array([]),
            ]))
        guard case .array(let collect) = entries[1] else { return XCTFail("gc|collect") }
        XCTAssertEqual(collect[0], .bulk("gc|collect"))
        XCTAssertEqual(collect[1], .integer(-2), "GC COLLECT [generation]: at least its two words")
        XCTAssertEqual(collect[2], .array([.simple("write"), .simple("blocking")]))
        XCTAssertEqual(entries[2], entries[1], "the two-word spelling names the same command")
        XCTAssertEqual(entries[3], .null)
        guard case .array(let kill) = entries[4] else { return XCTFail("client|kill") }
        XCTAssertEqual(kill[2], .array([.simple("write"), .simple("admin")]))
        XCTAssertEqual(kill[6], .array([.simple("@admin"), .simple("@dangerous")]))
        // A container lists its subcommands; in RESP3 the flags are sets.
        _ = try client.call("HELLO", "3")
        guard case .array(let gc) = try client.call("COMMAND", "INFO", "gc"), case .array(let container) = gc.first
        else { return XCTFail("COMMAND INFO gc") }
        XCTAssertEqual(container[1], .integer(-2))
        guard case .array(let subcommands) = container[9] else { return XCTFail("subcommands") }
        XCTAssertEqual(subcommands.count, names.compactMap(bulkText).filter { $0.hasPrefix("gc|") }.count)
        guard case .array(let ping) = try client.call("COMMAND", "INFO", "ping"), case .array(let pingInfo) = ping[0]
        else { return XCTFail("COMMAND INFO ping") }
        XCTAssertEqual(pingInfo[1], .integer(-1))
        XCTAssertEqual(pingInfo[2], .set([.simple("readonly"), .simple("pubsub")]))
    }

    /// Every entry of `COMMAND DOCS` passes the checks redis-cli 7 asserts when it reads the reply at
    /// start (a failed assert aborts redis-cli), and the hints it builds are heapd's own syntax.
    func testCommandDocsAsRedisCliReadsThem() throws {
        let client = try heapd.connect()
        guard case .array(let table) = try client.call("COMMAND", "DOCS") else { return XCTFail("COMMAND DOCS") }
        var hints: [String: String] = [:]
        try Self.readHelpEntries(table, container: nil, into: &hints)
        guard case .array(let help) = try client.call("HELP") else { return XCTFail("HELP") }
        for line in help.compactMap(bulkText) {
            let syntax = String(line.components(separatedBy: "  --  ")[0])
            let name = CommandWords.name(of: syntax)
            XCTAssertNotNil(hints[name], "COMMAND DOCS lacks \(name)")
        }
        XCTAssertEqual(hints["GC COLLECT"], "[generation]")
        XCTAssertEqual(hints["NEW"], "target type [value|items [items ...]]")
        XCTAssertEqual(hints["SET"], "target source")
        XCTAssertEqual(hints["GC SET_THRESHOLD"], "t0 [t1 [t2]]")
        XCTAssertEqual(
            hints["TRACEMALLOC STATISTICS"], "snapshot filename|lineno|traceback [CUMULATIVE] [LIMIT n] [RAW]")
        XCTAssertEqual(hints["DEL"], "name [name ...]")
        XCTAssertEqual(hints["CLIENT SETINFO"], "LIB-NAME|LIB-VER value")
        XCTAssertEqual(hints["GC"], "")
        // Named commands only: unknown names are left out, both spellings work.
        guard case .array(let some) = try client.call("COMMAND", "DOCS", "gc|collect", "nosuch", "TYPES")
        else { return XCTFail("COMMAND DOCS names") }
        XCTAssertEqual(some.count, 4)
        XCTAssertEqual(some[0], .bulk("gc|collect"))
        XCTAssertEqual(some[2], .bulk("types"))
    }

    /// The real redis-cli 7 in a terminal (tmux): its `HELP` and its hint as you type come from heapd.
    func testRedisCliShowsHeapdsOwnHints() throws {
        guard let redisCli = ["/usr/bin/redis-cli", "/usr/local/bin/redis-cli"].first(where: isExecutable),
            let tmux = ["/usr/bin/tmux", "/usr/local/bin/tmux"].first(where: isExecutable)
        else { throw XCTSkip("needs redis-cli and tmux (Debian: redis-tools, tmux)") }
        let server = "heapd-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        func run(_ arguments: [String]) throws -> String {
            let child = try ChildProcess.start(tmux, ["-L", server] + arguments, directory: heapd.directory)
            return child.wait(timeout: 10).stdout
        }
        defer { _ = try? run(["kill-server"]) }
        _ = try run(["new-session", "-d", "-s", "cli", "-x", "200", "-y", "40", "\(redisCli) -s \(heapd.socketPath)"])
        func screen(waitingFor text: String) throws -> String {
            let deadline = Date().addingTimeInterval(10)
            var shown = ""
            repeat {
                shown = try run(["capture-pane", "-p", "-t", "cli"])
                if shown.contains(text) { break }
                usleep(100_000)
            } while Date() < deadline
            return shown
        }
        // The prompt (capture-pane trims its trailing blank).
        _ = try screen(waitingFor: "\(heapd.socketPath)>")
        _ = try run(["send-keys", "-t", "cli", "HELP GC COLLECT", "Enter"])
        XCTAssertTrue(try screen(waitingFor: "group: gc").contains("GC COLLECT [generation]"))
        _ = try run(["send-keys", "-t", "cli", "SET "])
        let hinted = try screen(waitingFor: "SET target source")
        XCTAssertTrue(hinted.contains("SET target source"), "redis-cli's hint for SET is heapd's:\n\(hinted)")
        XCTAssertFalse(hinted.contains("NX|XX"))
    }

    private func isExecutable(_ path: String) -> Bool { FileManager.default.isExecutableFile(atPath: path) }

    /// Walks a `COMMAND DOCS` reply (RESP2, as redis-cli reads it by default) with redis-cli 7's checks
    /// (`cliInitCommandHelpEntry`, `cliAddArgument`): names and keys bulk strings, argument flags simple
    /// strings, `type` always present; records each command's hint.
    static func readHelpEntries(_ table: [Reply], container: String?, into hints: inout [String: String]) throws {
        XCTAssertEqual(table.count % 2, 0)
        for index in stride(from: 0, to: table.count, by: 2) {
            guard case .bulk(let nameBytes) = table[index], case .array(let specs) = table[index + 1] else {
                return XCTFail("entry \(index) is not a name and a map")
            }
            let raw = String(decoding: nameBytes, as: UTF8.self)
            let name = container == nil ? raw.uppercased() : raw.uppercased().replacingOccurrences(of: "|", with: " ")
            var hint = ""
            var keys: Set<String> = []
            for field in stride(from: 0, to: specs.count, by: 2) {
                guard let key = bulkText(specs[field]) else { return XCTFail("\(name): a key is not a bulk string") }
                keys.insert(key)
                let value = specs[field + 1]
                switch key {
                case "summary", "since", "group":
                    guard case .bulk = value else { return XCTFail("\(name): \(key) is not a bulk string") }
                case "arguments":
                    guard case .array(let arguments) = value else { return XCTFail("\(name): arguments") }
                    hint = try arguments.map(argumentHint).joined(separator: " ")
                case "subcommands":
                    guard case .array(let subcommands) = value else { return XCTFail("\(name): subcommands") }
                    try readHelpEntries(subcommands, container: name, into: &hints)
                default: break
                }
            }
            XCTAssertTrue(keys.isSuperset(of: ["summary", "since", "group"]), "\(name): \(keys)")
            hints[name] = hint
        }
    }

    /// redis-cli 7's `cliAddArgument`, with its asserts as test failures.
    static func argumentHint(_ argument: Reply) throws -> String {
        guard case .array(let fields) = argument else {
            XCTFail("an argument is not a map")
            return ""
        }
        var name: String?
        var type: String?
        var token = ""
        var optional = false
        var multiple = false
        var inner: [Reply] = []
        for index in stride(from: 0, to: fields.count, by: 2) {
            let key = bulkText(fields[index])
            XCTAssertNotNil(key, "argument keys are bulk strings")
            let value = fields[index + 1]
            switch key {
            case "name", "type", "token":
                guard case .bulk(let bytes) = value else {
                    XCTFail("\(key ?? "") is not a bulk string")
                    continue
                }
                let text = String(decoding: bytes, as: UTF8.self)
                if key == "name" { name = text } else if key == "type" { type = text } else { token = text }
            case "arguments":
                guard case .array(let items) = value else {
                    XCTFail("arguments is not an array")
                    continue
                }
                inner = items
            case "flags":
                guard case .array(let flags) = value else {
                    XCTFail("flags is not a set")
                    continue
                }
                for flag in flags {
                    guard case .simple(let text) = flag else {
                        XCTFail("a flag is not a simple string: \(flag)")
                        continue
                    }
                    optional = optional || text == "optional"
                    multiple = multiple || text == "multiple"
                }
            default: break
            }
        }
        XCTAssertNotNil(name, "every argument has a name")
        guard let type else {
            XCTFail("an argument without a type would crash redis-cli")
            return ""
        }
        var repeated: String
        switch type {
        case "string", "integer", "double", "key", "pattern", "unix-time", "token": repeated = name ?? ""
        case "oneof": repeated = try inner.map(argumentHint).joined(separator: "|")
        case "block": repeated = try inner.map(argumentHint).joined(separator: " ")
        case "pure-token": repeated = ""
        default:
            XCTFail("unknown argument type \(type)")
            repeated = ""
        }
        if !token.isEmpty && type != "pure-token" { token += " " }
        var text = (optional ? "[" : "") + token + repeated
        if multiple { text += " [" + repeated + " ...]" }
        return text + (optional ? "]" : "")
    }
}

/// The command name at the start of a HELP syntax line: one word, or two for a group's command.
enum CommandWords {
    static let groups: Set<String> = ["SCOPE", "DEBUG", "GC", "TRACEMALLOC", "CLIENT", "COMMAND"]

    static func name(of syntax: String) -> String {
        let words = syntax.split(separator: " ")
        guard let first = words.first.map(String.init) else { return "" }
        if groups.contains(first), words.count > 1, words[1].allSatisfy({ $0.isUppercase || $0 == "_" }) {
            return first + " " + words[1]
        }
        return first
    }
}
