import ArgumentParser

/// `heapctl types`: live objects by type, as an aligned table (heapd's `TYPES`).
struct TypesView: LeakView {
    static let configuration = CommandConfiguration(
        commandName: "heapctl types",
        abstract: "Live objects counted by type (instances by class name), most numerous first.",
        discussion: """
            Like objgraph.show_most_common_types() and jcmd GC.class_histogram: one line per type with its \
            object count and the bytes they occupy. heapd stops the world to count, so the figures are \
            exact at one instant.
            """)

    @Option(name: .long, help: ArgumentHelp("Show only the first N types.", valueName: "N"))
    var limit: Int?

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be 1 or more") }
    }

    func show(using client: ViewClient) throws(ViewFailure) {
        let census = try Self.census(client, limit: limit)
        var table = TextTable(header: ["type", "objects", "bytes"], rightAligned: [1, 2])
        table.rows = census.map { [$0.name, String($0.count), String($0.bytes)] }
        Console.write(table.text)
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
