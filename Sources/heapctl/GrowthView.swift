import ArgumentParser

/// `heapctl growth`: the types that grew above their peak since the last `GROWTH` (heapd's `GROWTH`).
struct GrowthView: LeakView {
    static let configuration = CommandConfiguration(
        commandName: "heapctl growth",
        abstract: "Types whose object count rose above their previous peak, largest growth first.",
        discussion: """
            Like objgraph.show_growth(): heapd remembers each type's highest count (server-wide, for every \
            client); each call reports the types above it and raises the peaks. The first call reports \
            every type. Run it, repeat the work you suspect, run it again: what keeps growing leaks.
            """)

    @Option(name: .long, help: ArgumentHelp("Show only the first N types.", valueName: "N"))
    var limit: Int?

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var viewOutput: ViewOutputOptions

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be 1 or more") }
    }

    func show(using client: ViewClient) throws(ViewFailure) {
        let command = ["GROWTH"] + (limit.map { ["LIMIT", String($0)] } ?? [])
        let reply = try client.call(command)
        guard let rows = reply.items else { throw ViewClient.unexpected("GROWTH", reply) }
        var grown: [(name: String, count: Int, delta: Int)] = []
        for row in rows {
            guard let fields = row.items, fields.count == 3, let name = fields[0].text, let count = fields[1].int,
                let delta = fields[2].int
            else { throw ViewClient.unexpected("GROWTH", reply) }
            grown.append((name, count, delta))
        }
        if client.json {
            let items = grown.map { row -> JSONValue in
                .object([("type", .string(row.name)), ("objects", .int(row.count)), ("growth", .int(row.delta))])
            }
            return Console.write(JSONValue.object([("growth", .array(items))]).text + "\n")
        }
        guard !grown.isEmpty else {
            Console.write("no type grew above its peak\n")
            return
        }
        var table = TextTable(header: ["type", "objects", "growth"], rightAligned: [1, 2])
        table.rows = grown.map { [$0.name, String($0.count), "+\($0.delta)"] }
        Console.write(table.text)
    }
}
