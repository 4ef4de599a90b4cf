import HeapProtocol

/// `COMMAND`, `COMMAND COUNT`, `COMMAND LIST`, `COMMAND INFO` and `COMMAND DOCS`: heapd's command table
/// in Redis 7's reply shapes, so that Redis tools learn heapd's commands from heapd (redis-cli 7 reads
/// `COMMAND DOCS` at start for its help and argument hints; client libraries read `COMMAND`).
///
/// Redis groups two-word commands under a container (`gc`, with the subcommands `gc|collect`, …);
/// heapd's table is grouped the same way here (``Family``). The names are in lower case, as Redis's.
enum CommandCommands {
    static let specs: [CommandSpec] = [
        CommandSpec(
            "COMMAND", arity: 0...0, syntax: "COMMAND", summary: "every command's COMMAND INFO entry",
            handler: { _, _ throws(CommandError) in .array(families.map(\.info)) }),
        CommandSpec(
            "COMMAND COUNT", arity: 0...0, syntax: "COMMAND COUNT",
            summary: "how many commands there are (a group of subcommands counts once)",
            handler: { _, _ throws(CommandError) in .integer(Int64(families.count)) }),
        CommandSpec(
            "COMMAND LIST", arity: 0...0, syntax: "COMMAND LIST",
            summary: "every command's name, subcommands as container|subcommand",
            handler: { _, _ throws(CommandError) in
                .array(families.flatMap { family in [family.name] + family.subcommands.map(docName) }.map { .bulk($0) })
            }),
        CommandSpec(
            "COMMAND INFO", arity: 0...Int.max, syntax: "COMMAND INFO [command-name...]",
            summary:
                "Redis's description of each command: [name, arity, flags, 0, 0, 0, categories, [], [], subcommands]",
            handler: { _, arguments throws(CommandError) in
                guard arguments.count > 0 else { return .array(families.map(\.info)) }
                return .array(arguments.strings.map { lookup($0)?.info ?? .null })
            }),
        CommandSpec(
            "COMMAND DOCS", arity: 0...Int.max, syntax: "COMMAND DOCS [command-name...]",
            summary: "each command's summary, group and arguments as a map (what redis-cli's hints are made of)",
            handler: { _, arguments throws(CommandError) in
                let chosen: [Entry] =
                    arguments.count == 0 ? families.map(Entry.family) : arguments.strings.compactMap(lookup)
                return .map(chosen.map { Reply.MapEntry($0.name, $0.docs) })
            }),
    ]

    /// The version heapd's commands first appeared in, for `since`.
    static let since = "0.1.0"

    /// A top-level command and, for a container (`GC`), its subcommands.
    struct Family {
        /// In lower case: `gc`, `new`.
        let name: String
        /// The command itself, when it runs alone too (`COMMAND`, and every single-word command).
        let command: CommandSpec?
        let subcommands: [CommandSpec]
    }

    /// The table, by first word, in the table's order.
    static let families: [Family] = {
        var order: [String] = []
        var commands: [String: CommandSpec] = [:]
        var subcommands: [String: [CommandSpec]] = [:]
        for spec in CommandTable.all {
            let words = spec.name.split(separator: " ", maxSplits: 1)
            let first = String(words[0])
            if commands[first] == nil && subcommands[first] == nil { order.append(first) }
            if words.count == 1 {
                commands[first] = spec
            } else {
                subcommands[first, default: []].append(spec)
            }
        }
        return order.map { Family(name: $0.lowercased(), command: commands[$0], subcommands: subcommands[$0] ?? []) }
    }()

    /// `COMMAND INFO`'s and `COMMAND DOCS`'s subject: a family, or one subcommand (`gc|collect`).
    enum Entry {
        case family(Family)
        case subcommand(CommandSpec)

        var name: String {
            switch self {
            case .family(let family): family.name
            case .subcommand(let spec): CommandCommands.docName(spec)
            }
        }

        var info: Reply {
            switch self {
            case .family(let family): family.info
            case .subcommand(let spec): CommandCommands.info(spec)
            }
        }

        var docs: Reply {
            switch self {
            case .family(let family): family.docs
            case .subcommand(let spec): CommandCommands.docs(spec)
            }
        }
    }

    /// `gc`, `GC`, `gc|collect`, `GC COLLECT`: nil for a name heapd does not know.
    static func lookup(_ name: String) -> Entry? {
        let upper = name.uppercased().replacingOccurrences(of: "|", with: " ")
        if let family = families.first(where: { $0.name.uppercased() == upper }) { return .family(family) }
        guard upper.contains(" "), let spec = CommandTable.spec(named: upper) else { return nil }
        return .subcommand(spec)
    }

    /// A subcommand's name as Redis writes it: `gc|collect`.
    static func docName(_ spec: CommandSpec) -> String {
        spec.name.lowercased().replacingOccurrences(of: " ", with: "|")
    }

    // MARK: COMMAND INFO

    /// Redis's arity: the number of words including the command's own, negative for "at least".
    static func arity(_ spec: CommandSpec) -> Int64 {
        let words = spec.name.split(separator: " ").count
        let least = Int64(spec.arity.lowerBound + words)
        return spec.arity.lowerBound == spec.arity.upperBound ? least : -least
    }

    /// Redis's command flags for what heapd knows of a command: `readonly` (a monitor may run it),
    /// `write` (it needs a user), `admin`, `blocking` (it stops the world or reads a file off the event
    /// loop), `pubsub` (allowed on a subscribed RESP2 connection), `noscript` never.
    static func flags(_ spec: CommandSpec) -> [String] {
        var flags: [String] = []
        switch spec.role {
        case .monitor: flags.append("readonly")
        case .user: flags.append("write")
        case .admin: flags += ["write", "admin"]
        }
        if !spec.flags.isDisjoint(with: [.stopsTheWorld, .blocksOnFiles]) { flags.append("blocking") }
        if spec.flags.contains(.allowedWhileSubscribed) { flags.append("pubsub") }
        return flags
    }

    /// Redis's ACL categories, from the role: `@read`, `@write`, `@admin` and `@dangerous`.
    static func categories(_ spec: CommandSpec) -> [String] {
        switch spec.role {
        case .monitor: ["@read"]
        case .user: ["@write"]
        case .admin: ["@admin", "@dangerous"]
        }
    }

    /// One command's `COMMAND INFO` entry (Redis 7's ten fields; heapd has no keys, so the key positions
    /// are 0 and the key specifications empty).
    static func info(_ spec: CommandSpec, subcommands: [Reply] = []) -> Reply {
        info(
            name: docName(spec), arity: arity(spec), flags: flags(spec), categories: categories(spec),
            subcommands: subcommands)
    }

    private static func info(
        name: String, arity: Int64, flags: [String], categories: [String], subcommands: [Reply]
    ) -> Reply {
        .array([
            .bulk(name), .integer(arity), .set(flags.map { .simple($0) }), .integer(0), .integer(0), .integer(0),
            .set(categories.map { .simple($0) }), .array([]), .array([]), .array(subcommands),
        ])
    }

    // MARK: COMMAND DOCS

    /// The group redis-cli files a command under (`HELP @gc`): the part of the table it comes from.
    static func group(_ spec: CommandSpec) -> String {
        if spec.name.contains(" ") { return String(spec.name.split(separator: " ")[0]).lowercased() }
        return groupBySingleWord[spec.name] ?? "server"
    }

    private static let groupBySingleWord: [String: String] = {
        let parts: [(String, [CommandSpec])] = [
            ("server", ServerCommands.specs), ("objects", ObjectCommands.specs),
            ("containers", ContainerCommands.specs), ("introspection", IntrospectionCommands.specs),
            ("diagnostics", DiagnosticCommands.specs), ("generators", GeneratorCommands.specs),
            ("tracemalloc", TracemallocCommands.specs), ("connection", [HelloCommand.spec] + ClientCommands.specs),
            ("command", specs),
        ]
        var groups: [String: String] = [:]
        for (group, specs) in parts {
            for spec in specs where !spec.name.contains(" ") { groups[spec.name] = group }
        }
        return groups
    }()

    /// One command's `COMMAND DOCS` map: summary, since, group and its arguments.
    static func docs(_ spec: CommandSpec, subcommands: [Reply.MapEntry]? = nil) -> Reply {
        var entries: [Reply.MapEntry] = [
            .init("summary", .bulk(spec.summary)), .init("since", .bulk(since)), .init("group", .bulk(group(spec))),
        ]
        let arguments = ArgumentDoc.arguments(ofSyntax: spec.syntax, command: spec.name)
        if !arguments.isEmpty { entries.append(.init("arguments", .array(arguments.map(\.reply)))) }
        if let subcommands { entries.append(.init("subcommands", .map(subcommands))) }
        return .map(entries)
    }
}

extension CommandCommands.Family {
    var info: Reply {
        let subcommandInfos = subcommands.map { CommandCommands.info($0) }
        if let command { return CommandCommands.info(command, subcommands: subcommandInfos) }
        // A container alone is not a command: Redis gives such an arity of -2 (a subcommand is needed).
        return .array([
            .bulk(name), .integer(-2), .set([]), .integer(0), .integer(0), .integer(0), .set([]), .array([]),
            .array([]), .array(subcommandInfos),
        ])
    }

    var docs: Reply {
        let subcommandDocs =
            subcommands.isEmpty
            ? nil
            : subcommands.map {
                Reply.MapEntry(CommandCommands.docName($0), CommandCommands.docs($0))
            }
        if let command { return CommandCommands.docs(command, subcommands: subcommandDocs) }
        return .map([
            .init("summary", .bulk("the \(name.uppercased()) commands (HELP \(name.uppercased()) lists them)")),
            .init("since", .bulk(CommandCommands.since)), .init("group", .bulk(name)),
            .init("subcommands", .map(subcommandDocs ?? [])),
        ])
    }
}
