import ArgumentParser
import Foundation

/// `heapctl graph x`: the references around an object as Graphviz DOT (heapd's `GRAPH`).
struct GraphView: LeakView {
    static let configuration = CommandConfiguration(
        commandName: "heapctl graph",
        abstract: "Draw the references around an object as a Graphviz graph.",
        discussion: """
            Like objgraph.show_refs() / show_backrefs(). Prints DOT on stdout, or writes it to FILE with -o; \
            a FILE ending in .svg, .png or .pdf is rendered with Graphviz's dot (apt-get install graphviz). \
            Red objects are unreachable from every root (garbage waiting for a collection), orange ones are \
            in a reference cycle, blue boxes are the variables and globals holding objects of the graph; \
            each object shows its type, id, repr, reference count and collector generation, each arrow how \
            it references (index, ['key'], .attr). Name the object by a global (g.name) or its id (#17).
              heapctl graph '#17' -o cycle.svg
            """)

    @Argument(help: ArgumentHelp("The object: g.name or #id.", valueName: "x"))
    var object: String

    @Option(name: .long, help: ArgumentHelp("Levels of references to follow (default 3).", valueName: "N"))
    var depth: Int?

    @Flag(name: .long, help: "Follow references to the object (its referrers) instead of from it.")
    var backrefs = false

    @Option(name: .long, help: ArgumentHelp("Draw at most N objects (default 200).", valueName: "N"))
    var max: Int?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Draw at most N references of each object; the rest are one \"… K more\" box (default 10, as objgraph's too_many).",
            valueName: "N"))
    var tooMany: Int?

    @Option(
        name: .short,
        help: ArgumentHelp(
            "Write to FILE: .svg, .png and .pdf are rendered with dot; .dot and .gv get the DOT text.",
            valueName: "file"))
    var output: String?

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var viewOutput: ViewOutputOptions

    func validate() throws {
        if let depth, depth < 0 { throw ValidationError("--depth must be 0 or more") }
        if let max, max < 1 { throw ValidationError("--max must be 1 or more") }
        if let tooMany, tooMany < 1 { throw ValidationError("--too-many must be 1 or more") }
        try GraphOutput.validate(output)
    }

    func show(using client: ViewClient) throws(ViewFailure) {
        var command = ["GRAPH", object]
        if let depth { command += ["DEPTH", String(depth)] }
        if backrefs { command.append("BACKREFS") }
        if let max { command += ["MAX", String(max)] }
        let reply = try client.call(command)
        guard let whole = ReferenceGraphReply(reply) else { throw ViewClient.unexpected("GRAPH", reply) }
        if client.json { return Console.write(whole.json(object: object).text + "\n") }
        try GraphOutput(path: output).draw(whole, around: object, backrefs: backrefs, tooMany: tooMany)
    }
}
