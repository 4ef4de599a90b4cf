import ArgumentParser

/// `heapctl chain x`: why x is alive, as one line of references from a root (heapd's `CHAIN`).
struct ChainView: LeakView {
    static let configuration = CommandConfiguration(
        commandName: "heapctl chain",
        abstract: "A shortest chain of references from a variable, global or gc.garbage to an object.",
        discussion: """
            Like objgraph.find_backref_chain(): prints the chain as
              g.cache -> list #12 [3] -> dict #40 ['k'] -> Node #41
            root first; after each object, how the next is reached from it ([index], ['key'], .attr). Each \
            heapctl run is a new session, so name the object by a global (g.name) or by its id (#17, from \
            ID x). Exits 1 when no root reaches the object: it is cyclic garbage until the next collection.
            """)

    @Argument(help: ArgumentHelp("The object: g.name or #id.", valueName: "x"))
    var object: String

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var viewOutput: ViewOutputOptions

    func show(using client: ViewClient) throws(ViewFailure) {
        let reply = try client.call(["CHAIN", object])
        if reply == .null && client.json {
            Console.write(JSONValue.object([("object", .string(object)), ("chain", .null)]).text + "\n")
            throw ViewFailure(status: .errorReply)
        }
        if reply == .null {
            Console.write(
                "\(object) is not reachable from any variable, global or gc.garbage: it is cyclic garbage"
                    + " that the next collection frees (GC COLLECT)\n")
            throw ViewFailure(status: .errorReply)
        }
        guard let steps = reply.items, !steps.isEmpty else { throw ViewClient.unexpected("CHAIN", reply) }
        var line = ""
        var links: [JSONValue] = []
        for (index, step) in steps.enumerated() {
            guard let fields = step.items, fields.count == 3, let how = fields[0].text, let type = fields[1].text,
                let id = fields[2].text
            else { throw ViewClient.unexpected("CHAIN", reply) }
            line += index == 0 ? "\(how) -> \(type) \(id)" : " \(how) -> \(type) \(id)"
            links.append(.object([("how", .string(how)), ("type", .string(type)), ("id", .string(id))]))
        }
        if client.json {
            return Console.write(JSONValue.object([("object", .string(object)), ("chain", .array(links))]).text + "\n")
        }
        Console.write(line + "\n")
    }
}
