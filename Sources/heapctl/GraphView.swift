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

    /// What `-o` accepts: the formats dot renders here, and DOT itself.
    static let renderedFormats = ["svg", "png", "pdf"]
    static let textFormats = ["dot", "gv"]

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        if let depth, depth < 0 { throw ValidationError("--depth must be 0 or more") }
        if let max, max < 1 { throw ValidationError("--max must be 1 or more") }
        if let tooMany, tooMany < 1 { throw ValidationError("--too-many must be 1 or more") }
        if let output {
            let format = (output as NSString).pathExtension.lowercased()
            guard Self.renderedFormats.contains(format) || Self.textFormats.contains(format) else {
                throw ValidationError(
                    "cannot write \(output): -o takes a file ending in .svg, .png or .pdf (drawn with dot), or .dot or .gv (the DOT text)"
                )
            }
        }
    }

    func show(using client: ViewClient) throws(ViewFailure) {
        var command = ["GRAPH", object]
        if let depth { command += ["DEPTH", String(depth)] }
        if backrefs { command.append("BACKREFS") }
        if let max { command += ["MAX", String(max)] }
        let reply = try client.call(command)
        guard let whole = ReferenceGraphReply(reply) else { throw ViewClient.unexpected("GRAPH", reply) }
        let graph = whole.cutWide(after: tooMany ?? 10, backrefs: backrefs)
        let title = "heapd: \(backrefs ? "referrers of" : "references from") \(object)"
        let dot = GraphvizDocument.render(graph, title: title)
        guard let output else {
            Console.write(dot)
            return
        }
        let format = (output as NSString).pathExtension.lowercased()
        guard Self.renderedFormats.contains(format) else {
            try write(dot, to: output)
            return
        }
        try render(dot, format: format, to: output)
    }

    private func write(_ text: String, to path: String) throws(ViewFailure) {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        } catch {
            Console.error("cannot write \(path): \(error.localizedDescription)")
            throw ViewFailure(status: .errorReply)
        }
    }

    /// Runs `dot -T<format> -o path` on the DOT text; without dot, leaves the DOT next to `path`.
    private func render(_ dot: String, format: String, to path: String) throws(ViewFailure) {
        guard let program = Self.findOnPath("dot") else {
            let source = (path as NSString).deletingPathExtension + ".dot"
            try write(dot, to: source)
            Console.error(
                "cannot draw \(path): Graphviz's dot is not installed (apt-get install graphviz); the graph is in"
                    + " \(source): dot -T\(format) \(source) -o \(path)")
            throw ViewFailure(status: .errorReply)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = ["-T\(format)", "-o", path]
        let input = Pipe()
        process.standardInput = input
        do {
            try process.run()
        } catch {
            Console.error("cannot run \(program): \(error.localizedDescription)")
            throw ViewFailure(status: .errorReply)
        }
        input.fileHandleForWriting.write(Data(dot.utf8))
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            Console.error("dot failed (exit status \(process.terminationStatus)) drawing \(path)")
            throw ViewFailure(status: .errorReply)
        }
    }

    static func findOnPath(_ program: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
