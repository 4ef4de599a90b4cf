/// A reference graph as Graphviz DOT, drawn so that leaks show at a glance: objects no root reaches
/// (garbage) filled red, objects in a reference cycle outlined orange (filled orange when reachable),
/// root variables as blue boxes of their own, the object asked about with a double border.
enum GraphvizDocument {
    static let garbageFill = "#f28b82"
    static let cycleColour = "#e67e22"
    static let cycleFill = "#ffd8a8"
    static let rootFill = "#cfe2ff"

    static func render(_ graph: ReferenceGraphReply, title: String) -> String {
        let inCycle = graph.nodesInCycles
        var lines = [
            "digraph heapd {",
            "  graph [rankdir=LR, labelloc=t, fontname=\"Helvetica\", label=\(quoted(legend(title, graph)))];",
            "  node [shape=box, style=\"rounded,filled\", fillcolor=white, fontname=\"Helvetica\", fontsize=10];",
            "  edge [fontname=\"Helvetica\", fontsize=9];",
        ]
        for (position, node) in graph.nodes.enumerated() {
            guard node.notDrawn == 0 else {
                let label = "… \(node.notDrawn) more"
                lines.append("  \(quoted(node.id)) [shape=plaintext, style=\"\", label=\(quoted(label))];")
                continue
            }
            var attributes = [
                "label=" + quoted("\(node.type) \(node.id)\n\(node.repr)\nrefcount \(node.refcount), \(node.state)")
            ]
            if !node.reachable {
                attributes.append("fillcolor=\(quoted(garbageFill))")
            } else if inCycle.contains(node.id) {
                attributes.append("fillcolor=\(quoted(cycleFill))")
            }
            if inCycle.contains(node.id) {
                attributes.append("color=\(quoted(cycleColour))")
                attributes.append("penwidth=2.5")
            } else if !node.reachable {
                attributes.append("color=red")
            }
            if position == 0 { attributes.append("peripheries=2") }
            lines.append("  \(quoted(node.id)) [\(attributes.joined(separator: ", "))];")
        }
        for (index, root) in graph.roots.enumerated() {
            let name = quoted("root \(index)")
            lines.append(
                "  \(name) [shape=box, style=\"filled,bold\", fillcolor=\(quoted(rootFill)), label=\(quoted(root.label))];"
            )
            lines.append("  \(name) -> \(quoted(root.to)) [style=bold];")
        }
        for edge in graph.edges {
            let colour =
                inCycle.contains(edge.from) && inCycle.contains(edge.to) ? ", color=\(quoted(cycleColour))" : ""
            lines.append("  \(quoted(edge.from)) -> \(quoted(edge.to)) [label=\(quoted(edge.label))\(colour)];")
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    private static func legend(_ title: String, _ graph: ReferenceGraphReply) -> String {
        var text = "\(title)\nred: unreachable from every root (garbage); orange: in a reference cycle; blue: roots"
        if graph.leftOut > 0 { text += "\n\(graph.leftOut) more objects left out (raise --max)" }
        return text
    }

    /// A DOT string literal: quotes and backslashes escaped, newlines as DOT's centred line breaks.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for character in text {
            switch character {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            default: out.append(character)
            }
        }
        return out + "\""
    }
}
