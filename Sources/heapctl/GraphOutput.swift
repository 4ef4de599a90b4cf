import ArgumentParser
import Foundation

/// Where a drawn reference graph goes: DOT on stdout, or `-o FILE` (DOT text for .dot and .gv; .svg,
/// .png and .pdf rendered with Graphviz's dot). One place for `heapctl graph` (live) and `heapctl
/// inspect IMAGE --graph` (offline), so that both cut, title and write a graph alike.
struct GraphOutput {
    /// What `-o` accepts: the formats dot renders here, and DOT itself.
    static let renderedFormats = ["svg", "png", "pdf"]
    static let textFormats = ["dot", "gv"]
    /// objgraph's `too_many`: references drawn per object before a "… K more" box.
    static let defaultTooMany = 10

    /// `-o`'s file, or nil for stdout.
    let path: String?

    /// Refuses an `-o` file whose format neither dot nor heapctl writes.
    static func validate(_ output: String?) throws {
        guard let output else { return }
        let format = (output as NSString).pathExtension.lowercased()
        guard renderedFormats.contains(format) || textFormats.contains(format) else {
            throw ValidationError(
                "cannot write \(output): -o takes a file ending in .svg, .png or .pdf (drawn with dot), or .dot or .gv (the DOT text)"
            )
        }
    }

    /// Cuts `graph` to `tooMany` references per object, renders it as DOT titled for `object`, and
    /// writes it out.
    func draw(_ graph: ReferenceGraphReply, around object: String, backrefs: Bool, tooMany: Int?)
        throws(ViewFailure)
    {
        let cut = graph.cutWide(after: tooMany ?? Self.defaultTooMany, backrefs: backrefs)
        let title = "heapd: \(backrefs ? "referrers of" : "references from") \(object)"
        try emit(GraphvizDocument.render(cut, title: title))
    }

    /// Writes DOT text to stdout or the file, rendering it first when the file asks for an image.
    func emit(_ dot: String) throws(ViewFailure) {
        guard let path else {
            Console.write(dot)
            return
        }
        let format = (path as NSString).pathExtension.lowercased()
        guard Self.renderedFormats.contains(format) else {
            try write(dot, to: path)
            return
        }
        try render(dot, format: format, to: path)
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
