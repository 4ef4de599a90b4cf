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

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be 1 or more") }
    }

    func show(using client: ViewClient) throws(ViewFailure) {
        let command = ["GROWTH"] + (limit.map { ["LIMIT", String($0)] } ?? [])
        let reply = try client.call(command)
        guard let rows = reply.items else { throw ViewClient.unexpected("GROWTH", reply) }
        guard !rows.isEmpty else {
            Console.write("no type grew above its peak\n")
            return
        }
        var table = TextTable(header: ["type", "objects", "growth"], rightAligned: [1, 2])
        for row in rows {
            guard let fields = row.items, fields.count == 3, let name = fields[0].text, let count = fields[1].int,
                let delta = fields[2].int
            else { throw ViewClient.unexpected("GROWTH", reply) }
            table.rows.append([name, String(count), "+\(delta)"])
        }
        Console.write(table.text)
    }
}
