import ArgumentParser
import HeapFormatting

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
            ID x). Exits 1 when no root reaches the object: it is cyclic garbage until the next collection. \
            With --retained, each object is followed by what freeing it would free (CHAIN x RETAINED: a \
            dominator tree of the whole reachable heap, read in steps), as in
              g.cache -> list #12 (retains 1.2 KiB) [0] -> Node #41 (retains 160 B)
            """)

    @Argument(help: ArgumentHelp("The object: g.name or #id.", valueName: "x"))
    var object: String

    @Flag(name: .long, help: "Show what freeing each object would free (CHAIN x RETAINED: a walk of the whole heap).")
    var retained = false

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var viewOutput: ViewOutputOptions

    func show(using client: ViewClient) throws(ViewFailure) {
        let reply = try client.call(["CHAIN", object] + (retained ? ["RETAINED"] : []))
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
            guard let fields = step.items, fields.count == (retained ? 4 : 3), let how = fields[0].text,
                let type = fields[1].text, let id = fields[2].text
            else { throw ViewClient.unexpected("CHAIN", reply) }
            // RETAINED: bytes, or nil for an object the walk of the heap did not find (it changed meanwhile).
            let held = retained ? fields[3].int : nil
            let suffix = retained ? " (retains \(held.map(formatBytes) ?? "?"))" : ""
            line += index == 0 ? "\(how) -> \(type) \(id)\(suffix)" : " \(how) -> \(type) \(id)\(suffix)"
            var link: [(String, JSONValue)] = [("how", .string(how)), ("type", .string(type)), ("id", .string(id))]
            if retained { link.append(("retained", held.map { .int($0) } ?? .null)) }
            links.append(.object(link))
        }
        if client.json {
            return Console.write(JSONValue.object([("object", .string(object)), ("chain", .array(links))]).text + "\n")
        }
        Console.write(line + "\n")
    }
}
