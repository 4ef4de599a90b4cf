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
            --limit leaves out). heapd counts in steps of a millisecond with the world stopped.
            """)

    @Option(name: .long, help: ArgumentHelp("Show only the first N types.", valueName: "N"))
    var limit: Int?

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be 1 or more") }
    }

    func show(using client: ViewClient) throws(ViewFailure) {
        // The whole census, so the total covers what --limit leaves out.
        Console.write(Self.table(try Self.census(client, limit: nil), limit: limit))
    }

    /// The census as jcmd's class histogram shows it: rank, type, objects, bytes for people; the first
    /// `limit` types, a line for the rest, and the total over all of them.
    static func table(_ census: [(name: String, count: Int, bytes: Int)], limit: Int?) -> String {
        let shown = census.prefix(limit ?? census.count)
        var table = TextTable(header: ["#", "type", "objects", "bytes"], rightAligned: [0, 2, 3])
        table.rows = shown.enumerated().map { index, row in
            [String(index + 1), row.name, String(row.count), formatBytes(row.bytes)]
        }
        let rest = census.count - shown.count
        if rest > 0 { table.rows.append(["", "… \(rest) more type\(rest == 1 ? "" : "s")", "", ""]) }
        table.rows.append([
            "", "total", String(census.reduce(0) { $0 + $1.count }), formatBytes(census.reduce(0) { $0 + $1.bytes }),
        ])
        return table.text
    }

    /// `TYPES [LIMIT n]` as (name, count, bytes).
    static func census(_ client: ViewClient, limit: Int?) throws(ViewFailure) -> [(
        name: String, count: Int, bytes: Int
    )] {
        let command = ["TYPES"] + (limit.map { ["LIMIT", String($0)] } ?? [])
        let reply = try client.call(command)
        guard let rows = reply.items else { throw ViewClient.unexpected("TYPES", reply) }
        var census: [(name: String, count: Int, bytes: Int)] = []
        for row in rows {
            guard let fields = row.items, fields.count == 3, let name = fields[0].text, let count = fields[1].int,
                let bytes = fields[2].int
            else { throw ViewClient.unexpected("TYPES", reply) }
            census.append((name, count, bytes))
        }
        return census
    }
}
