import ArgumentParser
import Foundation
import HeapImageFormat

/// `heapctl inspect IMAGE`: a heap image (heapd's `SAVE`/`BGSAVE`) read offline, without a daemon, as
/// Eclipse MAT reads a JVM heap dump: types, the biggest objects by retained size, the globals by what
/// they retain, and the cyclic garbage. Parsed on its own, as `run` is (heapd has no `INSPECT`).
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heapctl inspect",
        abstract: "Analyse a heap image offline: types, biggest objects by retained size, globals, garbage.",
        discussion: """
            Reads and checks the whole image (a truncated, corrupt or newer image is refused, exit 66), then \
            prints: the object count and bytes (counted as INFO objects counts them); objects and bytes by \
            type (instances by class name); the objects that retain the most, where the retained size is \
            what freeing the object would free (from the dominator tree of the graph whose roots are the \
            globals and gc.garbage, as Eclipse MAT computes it), each with the root that holds it; the \
            globals by retained size; and the objects no root reaches (cyclic garbage that the next \
            collection would free). Objects are named @i, their index in the image: ids are not kept. \
            --chain @i prints instead the shortest chain of references from a global to @i (CHAIN offline). \
            --graph @i draws instead the references around @i as `heapctl graph` draws them live (GRAPH \
            offline): DOT on stdout or to -o FILE, the graph as JSON with --json; the roots are the globals \
            and gc.garbage, since session variables do not survive into an image.
              heapctl inspect app.image --graph @12 --depth 2 -o around.svg
            """)

    @Argument(help: ArgumentHelp("The image file (any path).", valueName: "image"))
    var image: String

    @Option(name: .long, help: ArgumentHelp("Rows per table (default 10).", valueName: "N"))
    var limit: Int = 10

    @Flag(name: .long, help: "One line of JSON with named fields instead of tables.")
    var json = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Instead of the tables: the shortest chain of references from a global (or gc.garbage) to @i.",
            valueName: "@i"))
    var chain: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Instead of the tables: the references around @i as a Graphviz graph (as `heapctl graph` draws them).",
            valueName: "@i"))
    var graph: String?

    @Option(
        name: .long, help: ArgumentHelp("With --graph: levels of references to follow (default 3).", valueName: "N"))
    var depth: Int = 3

    @Flag(name: .long, help: "With --graph: follow references to the object (its referrers) instead of from it.")
    var backrefs = false

    @Option(name: .long, help: ArgumentHelp("With --graph: draw at most N objects (default 200).", valueName: "N"))
    var max: Int = 200

    @Option(
        name: .long,
        help: ArgumentHelp(
            "With --graph: draw at most N references of each object; the rest are one \"… K more\" box (default 10).",
            valueName: "N"))
    var tooMany: Int?

    @Option(
        name: .short,
        help: ArgumentHelp(
            "With --graph: write to FILE: .svg, .png and .pdf are rendered with dot; .dot and .gv get the DOT text.",
            valueName: "file"))
    var output: String?

    func validate() throws {
        if limit < 1 { throw ValidationError("--limit must be 1 or more") }
        for (option, value) in [("--chain", chain), ("--graph", graph)] {
            if let value, Self.objectIndex(value) == nil {
                throw ValidationError("\(option) takes an object as @i (its index in the image, as the tables name it)")
            }
        }
        if chain != nil && graph != nil { throw ValidationError("--chain and --graph are two views: give one") }
        if depth < 0 { throw ValidationError("--depth must be 0 or more") }
        if max < 1 { throw ValidationError("--max must be 1 or more") }
        if let tooMany, tooMany < 1 { throw ValidationError("--too-many must be 1 or more") }
        if graph == nil && output != nil { throw ValidationError("-o writes a graph: give --graph @i") }
        try GraphOutput.validate(output)
    }

    static func objectIndex(_ text: String) -> Int? {
        guard text.hasPrefix("@"), let index = Int(text.dropFirst()), index >= 0 else { return nil }
        return index
    }

    func execute() -> ExitStatus {
        let heapImage: HeapImage
        let analysis: ImageAnalysis
        do {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: image)))
            heapImage = try ImageReader.read(bytes)
            if let graph, let index = Self.objectIndex(graph) {
                return try drawGraph(of: heapImage, around: index, named: graph)
            }
            analysis = try ImageAnalysis(heapImage, limit: limit)
        } catch let error as ImageError {
            Console.error("inspect: \(image): \(error.message)")
            return .noInput
        } catch {
            Console.error("inspect: cannot read \(image): \(error.localizedDescription)")
            return .noInput
        }
        if let chain, let index = Self.objectIndex(chain) {
            guard index < analysis.objects else {
                Console.error("inspect: the image has no \(chain) (objects @0 to @\(analysis.objects - 1))")
                return .errorReply
            }
            guard let path = analysis.chain(to: index) else {
                Console.write(
                    json ? "{\"chain\":null}\n" : "\(chain) is not reachable from any global: cyclic garbage\n")
                return .success
            }
            Console.write(
                json
                    ? JSONValue.object([("chain", .array(path.map { .string($0) }))]).text + "\n"
                    : path.joined(separator: " -> ") + "\n")
            return .success
        }
        guard json else {
            Console.write(analysis.report(limit: limit))
            return .success
        }
        func rows(_ rows: [ImageAnalysis.ObjectRow]) -> JSONValue {
            .array(
                rows.map {
                    .object([
                        ("name", .string($0.name)), ("type", .string($0.type)), ("bytes", .int($0.bytes)),
                        ("retained", .int($0.retained)), ("held_by", .string($0.heldBy)),
                    ])
                })
        }
        let types = JSONValue.array(
            analysis.types.prefix(limit).map {
                .object([("type", .string($0.name)), ("objects", .int($0.count)), ("bytes", .int($0.bytes))])
            })
        Console.write(
            JSONValue.object([
                ("objects", .int(analysis.objects)), ("bytes", .int(analysis.bytes)), ("types", types),
                ("biggest", rows(analysis.biggest)), ("globals", rows(Array(analysis.globals.prefix(limit)))),
                ("gc_garbage", .int(analysis.garbageListLength)),
                ("unreachable_objects", .int(analysis.unreachableObjects)),
                ("unreachable_bytes", .int(analysis.unreachableBytes)),
                (
                    "unreachable_types",
                    .array(
                        analysis.unreachableTypes.prefix(limit).map {
                            .object([
                                ("type", .string($0.name)), ("objects", .int($0.count)), ("bytes", .int($0.bytes)),
                            ])
                        })
                ),
            ]).text + "\n")
        return .success
    }

    /// `--graph @i`: the image's graph around @i, printed or written as `heapctl graph` does it live.
    private func drawGraph(of heapImage: HeapImage, around index: Int, named name: String) throws(ImageError)
        -> ExitStatus
    {
        guard index < heapImage.objectCount else {
            Console.error("inspect: the image has no \(name) (objects @0 to @\(heapImage.objectCount - 1))")
            return .errorReply
        }
        let whole = ReferenceGraphReply(
            try ImageReferenceGraph(heapImage, around: index, depth: depth, referrers: backrefs, maxNodes: max))
        if json {
            Console.write(whole.json(object: name).text + "\n")
            return .success
        }
        do {
            try GraphOutput(path: output).draw(whole, around: name, backrefs: backrefs, tooMany: tooMany)
        } catch {
            return error.status
        }
        return .success
    }
}
