import ArgumentParser
import HeapFormatting

/// `heapctl types`: live objects by type, as an aligned table (heapd's `TYPES`).
struct TypesView: LeakView {
    static let configuration = CommandConfiguration(
        commandName: "heapctl types",
        abstract: "Live objects counted by type (instances by class name), most numerous first.",
        discussion: """
            Like objgraph.show_most_common_types() and jcmd GC.class_histogram: one line per type with its \
            rank, object count and the bytes they occupy, then a total row over every type (also those \
            --limit leaves out). heapd counts in steps of a millisecond with the world stopped. With \
            --retained, a column of what freeing every object of the type would free at least (its \
            objects and all they alone keep alive, from a dominator tree of the reachable heap: heapd's \
            TYPES RETAINED, which reads the whole heap in steps and then computes the tree).
            """)

    @Option(name: .long, help: ArgumentHelp("Show only the first N types.", valueName: "N"))
    var limit: Int?

    @Flag(name: .long, help: "Add each type's retained bytes (TYPES RETAINED: a walk of the whole heap).")
    var retained = false

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var viewOutput: ViewOutputOptions

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be 1 or more") }
    }

    func show(using client: ViewClient) throws(ViewFailure) {
        // The whole census, so the total covers what --limit leaves out.
        let census = try Self.census(client, limit: nil, retained: retained)
        guard client.json else { return Console.write(Self.table(census, limit: limit)) }
        let rows = census.prefix(limit ?? census.count).enumerated().map { index, row -> JSONValue in
            var fields: [(String, JSONValue)] = [
                ("rank", .int(index + 1)), ("type", .string(row.name)), ("objects", .int(row.count)),
                ("bytes", .int(row.bytes)),
            ]
            if let retained = row.retained { fields.append(("retained", .int(retained))) }
            return .object(fields)
        }
        let total = JSONValue.object([
            ("types", .int(census.count)), ("objects", .int(census.reduce(0) { $0 + $1.count })),
            ("bytes", .int(census.reduce(0) { $0 + $1.bytes })),
        ])
        Console.write(JSONValue.object([("types", .array(rows)), ("total", total)]).text + "\n")
    }

    /// The census as jcmd's class histogram shows it: rank, type, objects, bytes for people; the first
    /// `limit` types, a line for the rest, and the total over all of them.
    /// With retained sizes, a `retained` column; its total is left blank, because types retain each
    /// other's objects (a list's retained bytes hold its items').
    static func table(_ census: [TypeRow], limit: Int?) -> String {
        let shown = census.prefix(limit ?? census.count)
        let withRetained = census.contains { $0.retained != nil }
        var table = TextTable(
            header: ["#", "type", "objects", "bytes"] + (withRetained ? ["retained"] : []),
            rightAligned: [0, 2, 3, 4])
        table.rows = shown.enumerated().map { index, row in
            [String(index + 1), row.name, String(row.count), formatBytes(row.bytes)]
                + (withRetained ? [row.retained.map(formatBytes) ?? ""] : [])
        }
        let blank = withRetained ? [""] : []
        let rest = census.count - shown.count
        if rest > 0 { table.rows.append(["", "… \(rest) more type\(rest == 1 ? "" : "s")", "", ""] + blank) }
        table.rows.append(
            [
                "", "total", String(census.reduce(0) { $0 + $1.count }),
                formatBytes(census.reduce(0) { $0 + $1.bytes }),
            ] + blank)
        return table.text
    }

    /// One row of `TYPES`: retained only with `RETAINED`.
    typealias TypeRow = (name: String, count: Int, bytes: Int, retained: Int?)

    /// `TYPES [LIMIT n] [RETAINED]` as (name, count, bytes, retained).
    static func census(_ client: ViewClient, limit: Int?, retained: Bool = false) throws(ViewFailure) -> [TypeRow] {
        let command = ["TYPES"] + (limit.map { ["LIMIT", String($0)] } ?? []) + (retained ? ["RETAINED"] : [])
        let reply = try client.call(command)
        guard let rows = reply.items else { throw ViewClient.unexpected("TYPES", reply) }
        var census: [TypeRow] = []
        for row in rows {
            guard let fields = row.items, fields.count == (retained ? 4 : 3), let name = fields[0].text,
                let count = fields[1].int, let bytes = fields[2].int
            else { throw ViewClient.unexpected("TYPES", reply) }
            if retained {
                guard let held = fields[3].int else { throw ViewClient.unexpected("TYPES", reply) }
                census.append((name, count, bytes, held))
            } else {
                census.append((name, count, bytes, nil))
            }
        }
        return census
    }
}
