// libFuzzer target for command sequences on a live in-process heap.
//
// Each input is a program of at most 64 commands that two clients send to a fresh server state (a
// `ServerState` with its own `Heap`, no sockets, no collector thread: collections run when a command
// asks). Every command comes from the real command table, `CommandTable.all`, so a command added there
// is fuzzed without a change here; its arguments come from a grammar per command (below) over
// vocabularies of names, ids (live, stale and made up), types, keys and edge values for every number.
// A request takes the connection's path: it is encoded as RESP or as a quoted inline line, decoded
// by the client's own `RequestDecoder`, run inside the heap's gate with `CommandTable.execute`, its
// work after the gate (collections, views, `DEBUG VERIFY`) run at once, a long command's steps one
// after another, its reply encoded.
//
// Input layout, command after command, until the bytes run out:
//
//     byte     command: CommandTable.all[byte % count]
//     byte     flags: 1 = second client, 2 = inline (else RESP), 4 = lower-case name,
//              8 = `AT file:line` prefix (one more byte: the position), 0xF0 = wrong arity
//     byte     how many arguments, within the command's arity (see `argumentCount`)
//     [byte]   which form of the grammar, for commands with several
//     per argument:
//       byte < 0xF0   an entry of the vocabulary the grammar names for this position
//       0xF0…0xFE     an entry (next byte) of another vocabulary: Vocabulary.all[byte - 0xF0]
//       0xFF          a literal: a length byte and that many bytes
//
// Checked, else the target traps (libFuzzer keeps the input as a crash):
// - nothing crashes or traps while the commands run;
// - the decoder gives back exactly the request that was encoded;
// - every reply survives RESP encoding and decoding;
// - `DEBUG VERIFY` sent by the program finds no problem;
// - after the program, the heap check (`StoppedHeap.verify` with both clients' references) finds nothing;
// - after both clients leave, the globals are dropped, gc.garbage is cleared and the cycles are
//   collected (or, for uncollectable ones, broken), the heap check still finds nothing and no object
//   is left: the heap returns to its baseline;
// - the server state and its heap are freed once the program is over.
//
// Environment:
// - HEAPD_FUZZ_TRACE=1      print each command (as a script line) and its reply: run it on a crash file
//                           to read the program that crashed.
// - HEAPD_FUZZ_ENCODE=DIR   with script files as arguments: write each as a corpus input into DIR and
//                           exit (Fuzz/Seeds/FuzzCommands/*.txt → Fuzz/Corpus/FuzzCommands/).
// - HEAPD_FUZZ_SKIP_KNOWN=1 skip the requests of known, reported crashes (`KnownCrash`), so a long run
//                           can look past them.
// - HEAPD_FUZZ_SNAPSHOT_DIR the folder DUMP and LOAD use (default: one per process under $TMPDIR).
//
// A plain `swift build` compiles this file into an executable that does nothing; scripts/fuzz.sh builds
// it with libFuzzer (Fuzz/README.md).

#if DEBUG || HEAPD_FUZZ
    // The server's session and command table are internal: a debug build (which every fuzz build is)
    // compiles HeapServer for testing. A release build of the package leaves this target empty.
    import Foundation
    import HeapCore
    import HeapProtocol
    @testable import HeapServer
    import Logging

    @_cdecl("LLVMFuzzerInitialize")
    public func fuzzCommandsInitialize(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
    ) -> CInt {
        let environment = ProcessInfo.processInfo.environment
        FuzzSettings.trace = environment["HEAPD_FUZZ_TRACE"] == "1"
        FuzzSettings.skipKnownCrashes = environment["HEAPD_FUZZ_SKIP_KNOWN"] == "1"
        if let directory = environment["HEAPD_FUZZ_ENCODE"] {
            let arguments = (1..<Int(argc.pointee)).compactMap { argv.pointee?[$0].map { String(cString: $0) } }
            exit(SeedEncoder.encodeFiles(arguments.filter { !$0.hasPrefix("-") }, into: directory))
        }
        SnapshotFiles.prepare()
        atexit { SnapshotFiles.remove() }
        return 0
    }

    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzCommands(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        guard let data, size > 0 else { return 0 }
        weak var server: ServerState?
        weak var heap: Heap?
        do {
            var program = FuzzProgram(input: ByteReader(Array(UnsafeBufferPointer(start: data, count: size))))
            server = program.state
            heap = program.state.heap
            program.run()
        }
        // A reference cycle through the server state would keep a whole heap alive per connection set.
        check(server == nil && heap == nil, "the server state or its heap outlived the program (a reference cycle)")
        return 0
    }

    enum FuzzSettings {
        nonisolated(unsafe) static var trace = false
        nonisolated(unsafe) static var skipKnownCrashes = false
        /// Commands per input: enough for a few objects, a cycle and a view, short enough to stay fast.
        static let maxCommands = 64
        /// The handle table's size: small, so `LIMIT` is reachable and memory stays bounded.
        static let maxObjects = 1 << 14
    }

    // MARK: - Reading the input

    /// The fuzzer's bytes, consumed front to back; nil once they run out.
    struct ByteReader {
        private let bytes: [UInt8]
        private var position = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        mutating func next() -> UInt8? {
            guard position < bytes.count else { return nil }
            defer { position += 1 }
            return bytes[position]
        }

        mutating func take(_ count: Int) -> [UInt8] {
            let end = min(bytes.count, position + count)
            defer { position = end }
            return Array(bytes[position..<end])
        }
    }

    // MARK: - The grammar

    /// What kind of word an argument position takes; each has a vocabulary.
    enum Slot: Int, CaseIterable {
        case name, integer, float, type, value, item, key, text, keyword, section, position, fileName,
            pattern, identifier, commandName, snapshot
    }

    /// A command's arguments: the fixed positions, then `tail` repeated for the rest.
    struct Form {
        var fixed: [Slot]
        var tail: [Slot] = []

        func slot(at index: Int) -> Slot {
            if index < fixed.count { return fixed[index] }
            guard !tail.isEmpty else { return fixed.last ?? .keyword }
            return tail[(index - fixed.count) % tail.count]
        }
    }

    /// The argument grammar of each command, by the table's name; a command missing here gets words of
    /// every kind, so a new command is still fuzzed (add it here to fuzz it well).
    enum Grammar {
        static let options: [Slot] = [.keyword, .integer]
        static let forms: [String: [Form]] = [
            "PING": [Form(fixed: [.text])],
            "ECHO": [Form(fixed: [.text])],
            "HELP": [Form(fixed: [.commandName, .commandName])],
            "INFO": [Form(fixed: [.section])],
            "NEW": [Form(fixed: [.name, .type, .value], tail: [.item]), Form(fixed: [.name, .type], tail: [.name])],
            "SET": [Form(fixed: [.name, .name])],
            "DEL": [Form(fixed: [], tail: [.name])],
            "APPEND": [Form(fixed: [.name, .name])],
            "INSERT": [Form(fixed: [.name, .integer, .name])],
            "GETITEM": [Form(fixed: [.name, .name, .key])],
            "SETITEM": [Form(fixed: [.name, .key, .name])],
            "DELITEM": [Form(fixed: [.name, .key])],
            "POP": [Form(fixed: [.name, .name, .integer])],
            "ADD": [Form(fixed: [.name, .name])],
            "DISCARD": [Form(fixed: [.name, .name])],
            "REMOVE": [Form(fixed: [.name, .name])],
            "LEN": [Form(fixed: [.name])],
            "CLEAR": [Form(fixed: [.name])],
            "CONTAINS": [Form(fixed: [.name, .key]), Form(fixed: [.name, .name])],
            "GETATTR": [Form(fixed: [.name, .name, .key])],
            "SETATTR": [Form(fixed: [.name, .key, .name])],
            "DELATTR": [Form(fixed: [.name, .key])],
            "GETREFCOUNT": [Form(fixed: [.name])],
            "REFCOUNT": [Form(fixed: [.name])],
            "TYPE": [Form(fixed: [.name])],
            "ID": [Form(fixed: [.name])],
            "REPR": [Form(fixed: [.name, .integer])],
            "VARS": [Form(fixed: [.keyword])],
            "SCOPE PUSH": [Form(fixed: [.identifier])],
            "GC COLLECT": [Form(fixed: [.integer])],
            "GC SET_THRESHOLD": [Form(fixed: [.integer], tail: [.integer])],
            "GC GARBAGE": [Form(fixed: [], tail: options)],
            "GC GET_OBJECTS": [Form(fixed: [.integer], tail: options), Form(fixed: [], tail: options)],
            "GC GET_REFERRERS": [Form(fixed: [.name], tail: options)],
            "GC GET_REFERENTS": [Form(fixed: [.name])],
            "GC IS_TRACKED": [Form(fixed: [.name])],
            "GC IS_FINALIZED": [Form(fixed: [.name])],
            "GC SET_DEBUG": [Form(fixed: [], tail: [.keyword]), Form(fixed: [], tail: [.integer])],
            "GC DEBUG_STALL": [Form(fixed: [.float])],
            "WEAKREF": [Form(fixed: [.name, .name])],
            "DEREF": [Form(fixed: [.name, .name])],
            "FINALIZER": [Form(fixed: [.name, .keyword])],
            "NEXT": [Form(fixed: [.name, .name])],
            "LIST": [Form(fixed: [.name, .name])],
            "SUM": [Form(fixed: [.name, .name])],
            "AT": [Form(fixed: [.position], tail: [.keyword])],
            "TRACEMALLOC START": [Form(fixed: [.integer])],
            "TRACEMALLOC GET_OBJECT_TRACEBACK": [Form(fixed: [.name])],
            "TRACEMALLOC DROP_SNAPSHOT": [Form(fixed: [.snapshot])],
            "TRACEMALLOC STATISTICS": [
                Form(fixed: [.snapshot, .keyword], tail: [.keyword]),
                Form(fixed: [.snapshot, .keyword], tail: options),
            ],
            "TRACEMALLOC COMPARE": [
                Form(fixed: [.snapshot, .snapshot, .keyword], tail: [.keyword]),
                Form(fixed: [.snapshot, .snapshot, .keyword], tail: options),
            ],
            "TRACEMALLOC FILTER": [
                Form(fixed: [.snapshot], tail: [.keyword, .pattern]),
                Form(fixed: [.snapshot], tail: [.keyword, .pattern, .keyword, .integer]),
            ],
            "TRACEMALLOC DUMP": [Form(fixed: [.snapshot, .fileName])],
            "TRACEMALLOC LOAD": [Form(fixed: [.fileName])],
            "SAVE": [Form(fixed: [], tail: [.fileName])],
            "BGSAVE": [Form(fixed: [], tail: [.fileName])],
            "TYPES": [Form(fixed: [.keyword, .integer])],
            "GROWTH": [Form(fixed: [.keyword, .integer])],
            "CHAIN": [Form(fixed: [.name])],
            "GRAPH": [Form(fixed: [.name], tail: options), Form(fixed: [.name], tail: [.keyword])],
            "HELLO": [
                Form(fixed: [.integer], tail: [.keyword, .text]),
                Form(fixed: [.integer, .keyword, .text, .text], tail: [.keyword, .text]),
            ],
            "CLIENT SETNAME": [Form(fixed: [.text])],
            "CLIENT SETINFO": [Form(fixed: [.keyword, .text])],
            "CLIENT KILL": [Form(fixed: [.text]), Form(fixed: [.keyword, .integer], tail: [.keyword, .keyword])],
            "COMMAND INFO": [Form(fixed: [], tail: [.keyword])],
            "COMMAND DOCS": [Form(fixed: [], tail: [.keyword])],
        ]
        /// For a command the table has and the grammar does not: any word in any position.
        static let unknown = [Form(fixed: [], tail: [.value, .name, .integer, .keyword, .key])]

        static func forms(of name: String) -> [Form] { forms[name] ?? unknown }
    }

    // MARK: - Vocabularies

    /// The words of each slot, as bytes (arguments are binary-safe). Ids of live and dead objects are added
    /// while a program runs (`FuzzProgram.observedIDs`).
    enum Vocabulary {
        static let hugeDigits = String(repeating: "9", count: 70_000)

        static let names = words(
            "a", "b", "c", "d", "e", "g.a", "g.b", "g.c", "_", "x1", "#0", "#1", "#2", "#3", "#4", "#5", "#6", "#100",
            "#4294967296", "#4294967300", "#18446744073709551615", "#18446744073709551616", "#-1", "#", "#x", "g.",
            "g.1a", "1a", "a.b", "", "a b", "é", "g.g.a", "#99999999999999999999999")
        static let integers = words(
            "0", "1", "-1", "2", "3", "5", "8", "16", "64", "100", "1000", "100000", "100001", "2147483647",
            "2147483648", "-2147483648", "-2147483649", "4294967295", "4294967296", "4294967230", "4294967231",
            "9223372036854775807", "-9223372036854775808", "9223372036854775806", "-9223372036854775807",
            "9223372036854775808", "-9223372036854775809", "18446744073709551615", "18446744073709551616",
            "99999999999999999999999999999", hugeDigits, "nan", "NaN", "inf", "-inf", "+1", "-0", "00", "0x10",
            "1e3", "1.5", " 1", "1 ", "", "-", "9223372036854775807000", "-2", "4", "7", "10")
        static let floats = words(
            "0", "-0.0", "1.5", "2.5", "nan", "-nan", "inf", "-inf", "infinity", "1e308", "1e309", "-1e309",
            "5e-324", "1e-400", "0x1p-1074", "  2.5", "1_000", "2.5e", "", "abc", "9223372036854775807",
            "4.9406564584124654e-324", "1.7976931348623157e308", "0.1", "1", "-1", hugeDigits)
        static let types = words(
            "int", "float", "str", "bytes", "list", "tuple", "dict", "set", "object", "gen", "generator", "none",
            "bool", "INT", "List", "weakref", "", "NoneType", "frozenset", "range")
        static let values: [[UInt8]] =
            words(
                "1", "0", "-1", "range", "iter", "SIZE", "DATA", "true", "false", "True", "Node", "a", "b", "g.a",
                "#4", "hello", "", "9223372036854775807", "-9223372036854775808", "2147483648", "4294967296",
                "4294967230", "nan", "1.5", "1e309", "é", "Node2", "5", "3", "100000", "64", "513", "x y", "\\",
                "\r\n", hugeDigits) + [[0xFF, 0xFE], [0xC3], [0x00], Array(repeating: UInt8(ascii: "s"), count: 1000)]
        static let items = words(
            "a", "b", "c", "d", "e", "g.a", "g.b", "0", "1", "-1", "2", "3", "5", "10", "-3", "100000",
            "9223372036854775807", "-9223372036854775808", "9223372036854775806", "-9223372036854775807",
            "4611686018427387904", "x", "abc", "#4", "nan", "")
        static let keys: [[UInt8]] =
            words(
                "k", "a", "b", "x", "0", "1", "-1", "2", "-2", "100", "9223372036854775807", "-9223372036854775808",
                "", "key with space", "__dict__", "__class__", "é", "k2", "1.5", "nan", "g.a", "#4", hugeDigits)
            + [[0xFF], [0x00], [0x0D, 0x0A]]
        static let texts: [[UInt8]] =
            words(
                "hello", "", "a b", "\r\n", "*1\r\n$4\r\nPING\r\n", "-ERR x", "+OK", ":1", "$-1", "\"", "'", "\\",
                String(repeating: "x", count: 70_000))
            + [[0x00], [0xFF, 0xFE]]
        static let keywords = words(
            "CURSOR", "COUNT", "CLEAR", "LEGACY", "GLOBALS", "LIMIT", "DEPTH", "MAX", "BACKREFS", "CUMULATIVE", "RAW",
            "INCLUDE", "EXCLUDE", "LINE", "ALL_FRAMES", "filename", "lineno", "traceback", "STATS", "COLLECTABLE",
            "UNCOLLECTABLE", "SAVEALL", "LEAK", "NONE", "DEBUG_STATS", "cursor", "count", "limit", "x", "", "range",
            "iter", "SIZE", "DATA", "legacy", "globals",
            // HELLO, CLIENT and COMMAND (appended, so that the corpus's indices keep their words).
            "AUTH", "SETNAME", "LIB-NAME", "LIB-VER", "ID", "ADDR", "SKIPME", "yes", "no", "gc|collect", "gc", "new",
            "2", "3")
        static let sections = words(
            "server", "clients", "memory", "objects", "gc", "tracemalloc", "all", "everything", "SERVER", "bogus",
            "")
        static let positions = words(
            "f.py:1", "a.heap:10", "<stdin>:0", "x:-1", ":", "nocolon", "f:9223372036854775807",
            "f:9223372036854775808", "f:99999999999999999999", ":1", "a:b:2", "f:", "é.py:3", "f.py:01",
            "f.py:2", "g.py:1", String(repeating: "f", count: 2000) + ":1")
        static let fileNames = words(
            "s.json", "a", "b-1.json", SnapshotFiles.valid, SnapshotFiles.blob, "../x", "/etc/passwd", ".hidden",
            "", "a/b", String(repeating: "x", count: 300), "snapshot.json", ".", "..")
        static let patterns = words(
            "*", "f*", "*.py", "[", "[!a]", "?", "<client*", "f.py", "", "\\", "**", "[a-", "[]]",
            String(repeating: "*a", count: 40) + "b", String(repeating: "f", count: 300))
        static let identifiers = words("f", "main", "Node", "_", "A1", "1x", "", "a b", "é", "g.x", "Node2")
        static let commandNames: [[UInt8]] = {
            var words = Set<String>(["GC", "SCOPE", "DEBUG", "TRACEMALLOC", "gc", "nope", ""])
            for spec in CommandTable.all { words.formUnion(spec.name.split(separator: " ").map(String.init)) }
            return words.sorted().map { Array($0.utf8) }
        }()
        static let snapshots = words(
            "1", "2", "3", "4", "0", "-1", "9223372036854775807", "-9223372036854775808", "99999999999999999999",
            "x", "")

        static func words(_ strings: String...) -> [[UInt8]] { strings.map { Array($0.utf8) } }

        static func words(of slot: Slot) -> [[UInt8]] {
            switch slot {
            case .name: names
            case .integer: integers
            case .float: floats
            case .type: types
            case .value: values
            case .item: items
            case .key: keys
            case .text: texts
            case .keyword: keywords
            case .section: sections
            case .position: positions
            case .fileName: fileNames
            case .pattern: patterns
            case .identifier: identifiers
            case .commandName: commandNames
            case .snapshot: snapshots
            }
        }
    }

    // MARK: - Programs

    /// One command as generated: which client sends it, how, and its words.
    struct FuzzCommand {
        var client: Int
        var inline: Bool
        /// The words sent, `AT file:line` prefix included.
        var words: [[UInt8]]

        var scriptLine: String {
            var line = client == 1 ? "@2 " : ""
            if inline { line += "@inline " }
            var quoted: [UInt8] = []
            for word in words {
                if !quoted.isEmpty { quoted.append(UInt8(ascii: " ")) }
                InlineQuoting.append(word, to: &quoted, always: false)
            }
            return line + String(decoding: quoted, as: UTF8.self)
        }
    }

    /// A client of the fuzzed server: its session and its connection's decoder.
    struct FuzzClient {
        var session: Session
        var decoder = RequestDecoder()
    }

    struct FuzzProgram {
        var input: ByteReader
        let state: ServerState
        var clients: [FuzzClient]
        /// Ids of objects the program's names held at some point (`#id` words): live, or stale by now.
        var observedIDs: [UInt64] = []

        static let specs = CommandTable.all

        init(input: ByteReader) {
            self.input = input
            let state = ServerState(configuration: Self.configuration, logger: Self.logger)
            self.state = state
            clients = (0..<2).map { _ in FuzzClient(session: state.openSession()!) }
        }

        static let configuration = ServerConfiguration(
            listenAddress: .unixDomainSocket(path: "/nonexistent/heapd-fuzz.sock"),
            heap: HeapConfiguration(maxObjects: FuzzSettings.maxObjects, shardCount: 2),
            maxScopeDepth: 8, testCommands: false, snapshotDirectory: SnapshotFiles.directory)
        static let logger = Logger(label: "heapd-fuzz", factory: { _ in SwiftLogNoOpLogHandler() })

        mutating func run() {
            for _ in 0..<FuzzSettings.maxCommands {
                guard let command = nextCommand() else { break }
                if let known = KnownCrash.matching(command.words) {
                    trace("skipped (\(known)): \(command.scriptLine)")
                    continue
                }
                if let guardReason = ResourceGuard.refusal(command.words) {
                    trace("skipped (\(guardReason)): \(command.scriptLine)")
                    continue
                }
                execute(command)
            }
            finish()
        }

        // MARK: Generating

        /// The next command from the input, or nil when the input is used up.
        mutating func nextCommand() -> FuzzCommand? {
            guard let selector = input.next(), let flags = input.next(), let countByte = input.next() else {
                return nil
            }
            let spec = Self.specs[Int(selector) % Self.specs.count]
            var words: [[UInt8]] = []
            if flags & 8 != 0 {
                guard let position = input.next() else { return nil }
                words += [Array("AT".utf8), pick(Vocabulary.positions, position)]
            }
            let name = flags & 4 != 0 ? spec.name.lowercased() : spec.name
            words += name.split(separator: " ").map { Array($0.utf8) }
            let forms = Grammar.forms(of: spec.name)
            var form = forms[0]
            if forms.count > 1 {
                guard let choice = input.next() else { return nil }
                form = forms[Int(choice) % forms.count]
            }
            let count = Self.argumentCount(spec.arity, countByte: countByte, wrongArity: flags & 0xF0 == 0xF0)
            for index in 0..<count {
                guard let word = nextWord(form.slot(at: index)) else { return nil }
                words.append(word)
            }
            return FuzzCommand(client: Int(flags & 1), inline: flags & 2 != 0, words: words)
        }

        /// Within the arity (at most 8 past its minimum); with `wrongArity`, one past either end.
        static func argumentCount(_ arity: ClosedRange<Int>, countByte: UInt8, wrongArity: Bool) -> Int {
            if wrongArity {
                if arity.upperBound < 16 && (countByte & 1 == 0 || arity.lowerBound == 0) {
                    return arity.upperBound + 1
                }
                if arity.lowerBound > 0 { return arity.lowerBound - 1 }
            }
            let span = min(arity.upperBound, arity.lowerBound + 8) - arity.lowerBound
            return arity.lowerBound + Int(countByte) % (span + 1)
        }

        mutating func nextWord(_ slot: Slot) -> [UInt8]? {
            guard let selector = input.next() else { return nil }
            switch selector {
            case 0xFF:
                guard let length = input.next() else { return nil }
                return input.take(Int(length))
            case 0xF0..<0xFF:
                let other = Slot.allCases[Int(selector - 0xF0) % Slot.allCases.count]
                guard let index = input.next() else { return nil }
                return word(other, index)
            default:
                return word(slot, selector)
            }
        }

        mutating func word(_ slot: Slot, _ index: UInt8) -> [UInt8] {
            var words = Vocabulary.words(of: slot)
            if slot == .name { words += observedIDs.map { Array("#\($0)".utf8) } }
            let word = pick(words, index)
            if slot == .fileName && word == Array(SnapshotFiles.blob.utf8) {
                // The file LOAD reads next holds bytes of the input: fuzzes the snapshot file parser.
                let length = Int(input.next() ?? 0) * 8
                SnapshotFiles.write(SnapshotFiles.blob, input.take(length))
            }
            return word
        }

        func pick(_ words: [[UInt8]], _ index: UInt8) -> [UInt8] { words[Int(index) % words.count] }

        // MARK: Running

        /// Sends `command` the way a client would and runs it the way the connection handler does.
        mutating func execute(_ command: FuzzCommand) {
            let request = Request(arguments: command.words)
            var wire: [UInt8] = []
            if command.inline, let line = InlineQuoting.line(command.words) {
                wire = line
            } else {
                request.encode(into: &wire)
            }
            var client = clients[command.client]
            let step = wire.withUnsafeBytes { client.decoder.decode($0) }
            guard case .request(let decoded, let consumed) = step, consumed == wire.count else {
                fail("the decoder did not give back the request: \(command.scriptLine) gave \(step)")
            }
            check(decoded == request, "the decoder changed the request: \(command.scriptLine) gave \(decoded)")
            let session = client.session
            let outcome = state.heap.gate.shared { CommandTable.execute(decoded, in: session) }
            var reply = Reply.ok
            var closes = false
            switch outcome {
            case .reply(let sent): reply = sent
            case .replyAndClose(let sent):
                reply = sent
                closes = true
            case .afterGate(let work):
                // Run by the connection on its blocking pool once the gate is left; here, at once.
                reply = work()
            case .later(let awaited):
                // GC WAIT needs a connection's event loop: the harness has none, so this never comes.
                awaited.cancel()
                fail("a reply that comes later, without a connection: \(command.scriptLine)")
            case .stepped(let running):
                // A long command (SteppedCommand): the connection handler runs a step per turn of the
                // event loop; here they run one after another until it replies. Left unfinished, it
                // would keep the session and the server state alive past the program.
                var stepped: Reply?
                while stepped == nil && running.steps < 10_000_000 { stepped = running.advance() }
                check(stepped != nil, "a long command never replied: \(command.scriptLine)")
                if stepped == nil { running.cancel() }
                reply = stepped ?? reply
            }
            trace("\(command.scriptLine)\n    -> \(Self.show(reply))")
            checkReply(reply, for: command)
            if closes {
                // QUIT: the connection closes; the client connects again, as a new session.
                state.closeSession(session)
                client = FuzzClient(session: state.openSession()!)
            }
            clients[command.client] = client
            observeIDs(of: client.session)
        }

        /// Remembers the ids the session's names hold now, so later commands can name them (or, once they
        /// die, their stale ids).
        mutating func observeIDs(of session: Session) {
            let heap = state.heap
            for name in ["a", "b", "c", "g.a", "g.b"] {
                let id: UInt64? = heap.gate.shared {
                    guard let ref = try? session.resolve(name, readOnly: true) else { return nil }
                    defer { heap.release(ref, shard: session.shard) }
                    return heap.id(of: ref).rawValue
                }
                guard let id, !observedIDs.contains(id) else { continue }
                observedIDs.append(id)
                if observedIDs.count > 8 { observedIDs.removeFirst() }
            }
        }

        func checkReply(_ reply: Reply, for command: FuzzCommand) {
            // In both encodings, whatever the session asked for: a RESP3 reply decodes to the same bytes.
            for version in ProtocolVersion.allCases {
                let encoded = reply.encoded(version)
                var decoder = ReplyDecoder(
                    limits: ProtocolLimits(maxLineLength: Int.max, maxArguments: Int.max, maxBulkLength: Int.max))
                let decoded = try? encoded.withUnsafeBytes { try decoder.decode($0) }
                check(
                    decoded?.0.encoded(version) == encoded && decoded?.consumed == encoded.count,
                    "the reply to \(command.scriptLine) does not survive RESP\(version.rawValue): \(Self.show(reply))")
            }
            if case .error(let code, let message) = reply {
                SoftFindings.note(
                    !ErrorCodes.documented.contains(code), "undocumented error code \(code)",
                    "\(command.scriptLine) -> -\(code) \(message.prefix(200))")
                SoftFindings.note(
                    code.utf8.count + message.utf8.count + 1 > ProtocolLimits.default.maxLineLength,
                    "error line longer than a client's line limit (\(ProtocolLimits.default.maxLineLength) bytes)",
                    "\(command.scriptLine.prefix(200)) -> -\(code) (\(message.utf8.count) bytes)")
            }
            if command.words.contains(Array("VERIFY".utf8)) || command.words.contains(Array("verify".utf8)),
                case .array(let problems) = reply
            {
                fail("DEBUG VERIFY found problems after \(command.scriptLine): \(Self.show(.array(problems)))")
            }
        }

        // MARK: The final checks

        /// The heap check with both clients' references, then both leave and the heap must return to empty.
        mutating func finish() {
            let heap = state.heap
            let problems = heap.withWorldStopped { stopped in
                stopped.verify(externalReferences: state.externalReferences(stopped))
            }
            check(problems.isEmpty, "the heap check failed after the program: \(problems)")

            for client in clients { state.closeSession(client.session) }
            clients = []
            state.releaseGlobals()
            let collector = heap.collector
            collector.setDebugFlags(0)
            heap.withWorldStopped { $0.unfreeze() }
            collectEverything()
            let afterRelease = heap.withWorldStopped { $0.verify(externalReferences: [:]) }
            check(afterRelease.isEmpty, "the heap check failed after every client left: \(afterRelease)")

            // Uncollectable cycles (legacy finalizers) stay in gc.garbage: break every container's
            // references, as a program that clears its caches would, and collect again.
            let tracked = heap.withWorldStopped { stopped -> [ObjectRef] in
                let refs = stopped.trackedObjects(generation: nil, fromSlot: 0, limit: Int.max).1
                for ref in refs { heap.retain(ref) }
                return refs
            }
            heap.gate.shared {
                for ref in tracked {
                    try? heap.clear(ref)
                    heap.release(ref)
                }
            }
            collectEverything()
            let atEnd = heap.withWorldStopped { $0.verify(externalReferences: [:]) }
            check(atEnd.isEmpty, "the heap check failed after the cycles were broken: \(atEnd)")
            let left = heap.statistics()
            check(
                left.objects == 0,
                "\(left.objects) objects left after every reference was dropped: "
                    + "\(left.objectsByKind.filter { $0.value != 0 })"
            )
            SnapshotFiles.restoreIfChanged()
        }

        /// Empties gc.garbage and collects until a collection finds nothing more.
        func collectEverything() {
            let heap = state.heap
            for _ in 0..<4 {
                _ = heap.gate.shared { heap.collector.clearGarbage(shard: 0) }
                let found = (try? heap.collector.collect(generation: 2)) ?? 0
                if found == 0 && heap.collector.garbageCount == 0 { break }
            }
            _ = heap.gate.shared { heap.collector.clearGarbage(shard: 0) }
        }

        static func show(_ reply: Reply) -> String {
            let text = String(decoding: reply.encoded, as: UTF8.self).replacingOccurrences(of: "\r\n", with: " ")
            return text.count > 300 ? text.prefix(300) + "… (\(text.count) characters)" : text
        }
    }

    // MARK: - Requests that are left out

    /// Crashes found and reported (issue 9) but not fixed yet. Skipped only with HEAPD_FUZZ_SKIP_KNOWN=1:
    /// by default they crash, so a fix is proven by the seed that reproduces each one.
    enum KnownCrash {
        static func matching(_ words: [[UInt8]]) -> String? {
            guard FuzzSettings.skipKnownCrashes else { return nil }
            let text = commandWords(words).map { String(decoding: $0, as: UTF8.self).uppercased() }
            // `GC GARBAGE CURSOR c` with c + COUNT past Int.max: arithmetic overflow in GCCommands.swift
            // (issue 9, "One command kills it").
            if text.starts(with: ["GC", "GARBAGE"]) {
                for (index, word) in text.enumerated() where word == "CURSOR" && index + 1 < text.count {
                    if let cursor = Int(text[index + 1]), cursor > Int.max - 100_000 {
                        return "GC GARBAGE cursor overflow"
                    }
                }
            }
            // `TRACEMALLOC LOAD` of an empty file: swift-foundation's `Data(contentsOf:)` leaks the 4 KiB
            // buffer it read into (TracemallocCommands.swift, LOAD; reported with issue 9).
            if text.starts(with: ["TRACEMALLOC", "LOAD"]), text.count == 3 {
                let path = SnapshotFiles.directory + "/" + String(decoding: words.last!, as: UTF8.self)
                let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
                if size == 0 { return "LOAD of an empty file leaks in Foundation" }
            }
            return nil
        }
    }

    /// Requests that would exhaust the machine rather than find a bug, while heapd has no memory cap and no
    /// work limit per command (issue 9, items 2 and 4). Each refusal names the missing limit; remove it when
    /// the limit exists, so the fuzzer checks the limit's reply instead.
    enum ResourceGuard {
        /// Bytes objects up to this size are made; larger zero-filled ones would take gigabytes.
        static let maxBytesSize = 1 << 24
        /// Ranges up to this length are made; `SUM` over a longer one runs for as long as it is long.
        static let maxRangeLength: UInt64 = 100_000

        static func refusal(_ words: [[UInt8]]) -> String? {
            let text = commandWords(words).map { String(decoding: $0, as: UTF8.self) }
            guard text.count >= 3, text[0].uppercased() == "NEW" else { return nil }
            let values = Array(text.dropFirst(3))
            switch text[2].lowercased() {
            case "bytes":
                let sized = values.count == 2 && values[0].uppercased() == "SIZE"
                let size = values.count == 1 ? values[0] : sized ? values[1] : nil
                if let size, let count = Int(size), count > maxBytesSize, count < Int(UInt32.max) - 64 {
                    return "no memory cap: bytes of \(count)"
                }
            case "gen", "generator":
                guard values.first?.lowercased() == "range", (2...4).contains(values.count) else { return nil }
                let bounds = values.dropFirst().compactMap { Int64($0) }
                guard bounds.count == values.count - 1 else { return nil }
                let (start, stop) = bounds.count == 1 ? (0, bounds[0]) : (bounds[0], bounds[1])
                let step = bounds.count == 3 ? bounds[2] : 1
                if step != 0, rangeLength(start: start, stop: stop, step: step) > maxRangeLength {
                    return "no work limit: a range longer than \(maxRangeLength)"
                }
            default:
                break
            }
            return nil
        }

        /// `len(range(start, stop, step))` over the whole Int64 domain.
        static func rangeLength(start: Int64, stop: Int64, step: Int64) -> UInt64 {
            if step > 0 {
                return start < stop ? (UInt64(bitPattern: stop &- start) - 1) / step.magnitude + 1 : 0
            }
            return start > stop ? (UInt64(bitPattern: start &- stop) - 1) / step.magnitude + 1 : 0
        }
    }

    /// The words of a request after any `AT file:line` prefixes.
    func commandWords(_ words: [[UInt8]]) -> ArraySlice<[UInt8]> {
        var rest = words[...]
        while rest.count >= 2, String(decoding: rest.first!, as: UTF8.self).uppercased() == "AT" {
            rest = rest.dropFirst(2)
        }
        return rest
    }

    // MARK: - Helpers

    /// protocol.md §4: the error codes a client may see.
    enum ErrorCodes {
        /// protocol.md §4, as HeapProtocol's one vocabulary holds it.
        static let documented = Set(ErrorCode.all.map(\.rawValue))
    }

    /// Oddities worth a look that are not crashes: counted, and printed once each when the fuzzer exits.
    enum SoftFindings {
        nonisolated(unsafe) static var seen: [String: (count: Int, example: String)] = [:]
        nonisolated(unsafe) static var registered = false

        static func note(_ condition: Bool, _ kind: @autoclosure () -> String, _ example: @autoclosure () -> String) {
            guard condition else { return }
            let kind = kind()
            if let entry = seen[kind] {
                seen[kind] = (entry.count + 1, entry.example)
                return
            }
            seen[kind] = (1, example())
            if !registered {
                registered = true
                atexit { SoftFindings.report() }
            }
        }

        static func report() {
            for (kind, entry) in seen.sorted(by: { $0.key < $1.key }) {
                printError("FuzzCommands: note: \(kind) (\(entry.count)x), e.g. \(entry.example)\n")
            }
        }
    }

    /// The inline form of a request: each word bare when it can be, double-quoted with escapes otherwise.
    enum InlineQuoting {
        /// The line with its `\r\n`, or nil when it would pass the decoder's line limit.
        static func line(_ words: [[UInt8]]) -> [UInt8]? {
            var line: [UInt8] = []
            for word in words {
                if !line.isEmpty { line.append(UInt8(ascii: " ")) }
                append(word, to: &line, always: false)
            }
            guard line.count <= ProtocolLimits.default.maxLineLength else { return nil }
            return line + [0x0D, 0x0A]
        }

        static func append(_ word: [UInt8], to line: inout [UInt8], always: Bool) {
            let plain =
                !always && !word.isEmpty && word.first != UInt8(ascii: "*")
                && word.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "'") }
            if plain {
                line += word
                return
            }
            let hex = Array("0123456789abcdef".utf8)
            line.append(UInt8(ascii: "\""))
            for byte in word {
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): line += [UInt8(ascii: "\\"), byte]
                case 0x20..<0x7F: line.append(byte)
                default: line += [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
                }
            }
            line.append(UInt8(ascii: "\""))
        }
    }

    /// The snapshot directory `TRACEMALLOC DUMP` and `LOAD` use: one per fuzzer process, holding a valid
    /// dump to load, restored after any program that changed it, so every input starts from the same files.
    enum SnapshotFiles {
        static let valid = "valid.json"
        static let blob = "blob.json"
        /// `HEAPD_FUZZ_SNAPSHOT_DIR` (scripts/fuzz.sh puts it in its working folder, removed even after a
        /// crash), else a folder of this process in the temporary directory.
        static let directory =
            ProcessInfo.processInfo.environment["HEAPD_FUZZ_SNAPSHOT_DIR"]
            ?? NSTemporaryDirectory() + "heapd-fuzz-\(getpid())"
        /// Bytes, not `Data`: LeakSanitizer cannot see the pointer `Data` keeps in its enum's spare bits
        /// and reports the buffer as leaked at exit.
        nonisolated(unsafe) static var validContents: [UInt8] = []
        nonisolated(unsafe) static var changed = false

        /// Creates the directory with a dump of a small traced heap in it.
        static func prepare() {
            // 0700, as heapd's snapshot directory must be (heapd refuses to write into a looser one).
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            chmod(directory, 0o700)
            let state = ServerState(configuration: FuzzProgram.configuration, logger: FuzzProgram.logger)
            let session = state.openSession()!
            for line in [
                "TRACEMALLOC START 4", "NEW a list", "AT f.py:3 NEW b str hello", "SCOPE PUSH f",
                "AT g.py:7 NEW c dict",
                "SCOPE POP", "TRACEMALLOC TAKE_SNAPSHOT", "TRACEMALLOC DUMP 1 \(valid)", "TRACEMALLOC STOP",
            ] {
                let request = Request(line.split(separator: " ").map(String.init))
                let outcome = state.heap.gate.shared { CommandTable.execute(request, in: session) }
                // DUMP streams its file after the gate, as the connection runs it.
                if case .afterGate(let work) = outcome { _ = work() }
            }
            state.closeSession(session)
            validContents = FileManager.default.contents(atPath: directory + "/" + valid).map { [UInt8]($0) } ?? []
            if validContents.isEmpty { printError("FuzzCommands: could not prepare \(valid)\n") }
        }

        static func write(_ name: String, _ bytes: [UInt8]) {
            changed = true
            _ = FileManager.default.createFile(atPath: directory + "/" + name, contents: Data(bytes))
        }

        /// Puts the directory back as `prepare` left it if a program wrote to it (DUMP, or a blob).
        static func restoreIfChanged() {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            guard changed || names != [valid] else { return }
            for name in names where name != valid {
                try? FileManager.default.removeItem(atPath: directory + "/" + name)
            }
            _ = FileManager.default.createFile(atPath: directory + "/" + valid, contents: Data(validContents))
            changed = false
        }

        static func remove() {
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    // MARK: - Seeds

    /// Turns readable scripts into corpus inputs: one command a line, words as an inline request (quotes
    /// and escapes allowed); `@2 ` sends a line as the second client, `@inline ` in inline form, a leading
    /// `AT file:line` becomes the prefix flag; `#` starts a comment line; `@blob TEXT` gives the contents
    /// of `blob.json` for its next use (else it is empty).
    enum SeedEncoder {
        static func encodeFiles(_ paths: [String], into directory: String) -> Int32 {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            var failures: Int32 = 0
            for path in paths {
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                    printError("cannot read \(path)\n")
                    failures += 1
                    continue
                }
                do {
                    let bytes = try encode(script: text)
                    let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
                    _ = FileManager.default.createFile(atPath: directory + "/" + name, contents: Data(bytes))
                } catch {
                    printError("\(path): \(error)\n")
                    failures += 1
                }
            }
            return failures == 0 ? 0 : 1
        }

        struct EncodingError: Error, CustomStringConvertible {
            let description: String
        }

        /// The contents `blob.json` gets at its next use (`@blob TEXT` line; empty when none was given).
        nonisolated(unsafe) static var pendingBlob: [UInt8] = []

        static func encode(script: String) throws -> [UInt8] {
            pendingBlob = []
            var bytes: [UInt8] = []
            for rawLine in script.split(separator: "\n", omittingEmptySubsequences: true) {
                var line = Substring(rawLine)
                if line.hasPrefix("#") || line.allSatisfy(\.isWhitespace) { continue }
                if line.hasPrefix("@blob ") {
                    pendingBlob = Array(line.dropFirst(6).utf8)
                    continue
                }
                var flags: UInt8 = 0
                while true {
                    if line.hasPrefix("@2 ") {
                        flags |= 1
                        line = line.dropFirst(3)
                    } else if line.hasPrefix("@inline ") {
                        flags |= 2
                        line = line.dropFirst(8)
                    } else {
                        break
                    }
                }
                bytes += try encode(line: String(line), flags: flags)
            }
            return bytes
        }

        static func encode(line: String, flags: UInt8) throws -> [UInt8] {
            var decoder = RequestDecoder()
            let wire = Array((line + "\n").utf8)
            guard case .request(let request, _) = wire.withUnsafeBytes({ decoder.decode($0) }) else {
                throw EncodingError(description: "not a request: \(line)")
            }
            var words = request.arguments
            var flags = flags
            var prefix: [UInt8] = []
            if words.count >= 3, String(decoding: words[0], as: UTF8.self).uppercased() == "AT" {
                flags |= 8
                prefix = [try index(of: words[1], in: Vocabulary.positions, line)]
                words.removeFirst(2)
            }
            let upper = words.map { String(decoding: $0, as: UTF8.self).uppercased() }
            guard
                let (specIndex, nameWords) = FuzzProgram.specs.enumerated().compactMap({ index, spec -> (Int, Int)? in
                    let parts = spec.name.split(separator: " ").map(String.init)
                    return upper.starts(with: parts) ? (index, parts.count) : nil
                }).max(by: { $0.1 < $1.1 })
            else { throw EncodingError(description: "no such command: \(line)") }
            let spec = FuzzProgram.specs[specIndex]
            if String(decoding: words[0], as: UTF8.self) != upper[0] { flags |= 4 }
            let arguments = Array(words.dropFirst(nameWords))
            var countByte: UInt8
            if spec.arity.contains(arguments.count) {
                countByte = UInt8(arguments.count - spec.arity.lowerBound)
            } else {
                flags |= 0xF0
                countByte = arguments.count == spec.arity.upperBound + 1 ? 0 : 1
                guard FuzzProgram.argumentCount(spec.arity, countByte: countByte, wrongArity: true) == arguments.count
                else { throw EncodingError(description: "argument count not encodable: \(line)") }
            }
            let wrongArity = flags & 0xF0 == 0xF0
            guard FuzzProgram.argumentCount(spec.arity, countByte: countByte, wrongArity: wrongArity) == arguments.count
            else { throw EncodingError(description: "argument count not encodable: \(line)") }
            var bytes = [UInt8(specIndex), flags, countByte] + prefix
            // The form whose vocabularies hold the most of the words.
            let forms = Grammar.forms(of: spec.name)
            let formIndex = forms.indices.max { lhs, rhs in
                hits(arguments, forms[lhs]) < hits(arguments, forms[rhs])
            }!
            if forms.count > 1 { bytes.append(UInt8(formIndex)) }
            for (position, word) in arguments.enumerated() {
                bytes += try encode(word: word, slot: forms[formIndex].slot(at: position), line)
                if word == Array(SnapshotFiles.blob.utf8) {
                    // FuzzProgram.word reads the blob after the name: its length in eighths, then its bytes.
                    var blob = pendingBlob
                    pendingBlob = []
                    guard blob.count <= 255 * 8 else { throw EncodingError(description: "@blob over 2040 bytes") }
                    while blob.count % 8 != 0 { blob.append(UInt8(ascii: " ")) }
                    bytes += [UInt8(blob.count / 8)] + blob
                }
            }
            return bytes
        }

        static func hits(_ arguments: [[UInt8]], _ form: Form) -> Int {
            arguments.enumerated().filter { Vocabulary.words(of: form.slot(at: $0.offset)).contains($0.element) }.count
        }

        static func encode(word: [UInt8], slot: Slot, _ line: String) throws -> [UInt8] {
            if let index = Vocabulary.words(of: slot).firstIndex(of: word), index < 0xF0 {
                return [UInt8(index)]
            }
            for other in Slot.allCases {
                if let index = Vocabulary.words(of: other).firstIndex(of: word), index < 256 {
                    return [0xF0 + UInt8(other.rawValue), UInt8(index)]
                }
            }
            guard word.count < 256 else { throw EncodingError(description: "a word over 255 bytes: \(line)") }
            return [0xFF, UInt8(word.count)] + word
        }

        static func index(of word: [UInt8], in words: [[UInt8]], _ line: String) throws -> UInt8 {
            guard let index = words.firstIndex(of: word) else {
                let text = String(decoding: word, as: UTF8.self)
                throw EncodingError(description: "not in the vocabulary: \(text) in \(line)")
            }
            return UInt8(index)
        }
    }

    /// Traps with `message` (libFuzzer records the input as a crash) when `condition` fails.
    func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
        guard !condition() else { return }
        fail(message())
    }

    /// With HEAPD_FUZZ_TRACE=1, a line on standard error (unbuffered: a crash must not lose it).
    func trace(_ text: @autoclosure () -> String) {
        if FuzzSettings.trace { printError(text() + "\n") }
    }

    /// Writes `text` to standard error unbuffered (the `stderr` global is not concurrency-safe in Swift 6).
    func printError(_ text: String) {
        var bytes = Array(text.utf8)
        _ = write(2, &bytes, bytes.count)
    }

    func fail(_ message: String) -> Never {
        printError("FuzzCommands: invariant broken: \(message)\n")
        abort()
    }
#endif
