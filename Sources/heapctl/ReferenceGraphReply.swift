import HeapProtocol

/// heapd's `GRAPH` reply, decoded: nodes, edges, the roots holding nodes, how many were left out.
struct ReferenceGraphReply {
    struct Node {
        let id: String
        let type: String
        let refcount: Int
        /// `gen0`, `gen1`, `gen2`, `frozen` or `untracked`.
        let state: String
        let repr: String
        /// Whether a root reaches it (false: garbage waiting for a collection).
        let reachable: Bool
        /// For a box standing for the references not drawn (``cutWide(after:backrefs:)``): how many.
        var notDrawn = 0
    }

    struct Edge {
        let from: String
        let to: String
        let label: String
    }

    struct Root {
        let label: String
        let to: String
    }

    var nodes: [Node] = []
    var edges: [Edge] = []
    var roots: [Root] = []
    var leftOut = 0

    /// Decodes the reply, or nil if it does not have `GRAPH`'s shape.
    init?(_ reply: Reply) {
        guard let parts = reply.items, parts.count == 4, let nodes = parts[0].items, let edges = parts[1].items,
            let roots = parts[2].items, let leftOut = parts[3].int
        else { return nil }
        for node in nodes {
            guard let f = node.items, f.count == 6, let id = f[0].text, let type = f[1].text, let refcount = f[2].int,
                let state = f[3].text, let repr = f[4].text, let reachable = f[5].int
            else { return nil }
            self.nodes.append(
                Node(id: id, type: type, refcount: refcount, state: state, repr: repr, reachable: reachable != 0))
        }
        for edge in edges {
            guard let f = edge.items, f.count == 3, let from = f[0].text, let to = f[1].text, let label = f[2].text
            else { return nil }
            self.edges.append(Edge(from: from, to: to, label: label))
        }
        for root in roots {
            guard let f = root.items, f.count == 2, let label = f[0].text, let to = f[1].text else { return nil }
            self.roots.append(Root(label: label, to: to))
        }
        self.leftOut = leftOut
    }

    /// objgraph's `too_many`: each object shows at most `limit` of the references the graph follows
    /// from it (its referents, or with `backrefs` its referrers), in the reply's order; the rest become
    /// one "… N more" box, and the objects only they led to are left out. Without it a list of 500
    /// items is a column of 200 boxes, 15,000 pixels tall.
    func cutWide(after limit: Int, backrefs: Bool) -> ReferenceGraphReply {
        guard let start = nodes.first?.id else { return self }
        var kept: [Edge] = []
        var shown: [String: Int] = [:]
        var hidden: [String: Int] = [:]
        var order: [String] = []
        for edge in edges {
            let parent = backrefs ? edge.to : edge.from
            if shown[parent, default: 0] < limit {
                shown[parent, default: 0] += 1
                kept.append(edge)
            } else {
                if hidden[parent] == nil { order.append(parent) }
                hidden[parent, default: 0] += 1
            }
        }
        guard !hidden.isEmpty else { return self }
        // What is still reachable from the object asked about along the kept edges.
        var children: [String: [String]] = [:]
        for edge in kept {
            children[backrefs ? edge.to : edge.from, default: []].append(backrefs ? edge.from : edge.to)
        }
        var reached: Set<String> = [start]
        var queue = [start]
        while let node = queue.popLast() {
            for child in children[node, default: []] where reached.insert(child).inserted { queue.append(child) }
        }
        var result = self
        result.nodes = nodes.filter { reached.contains($0.id) }
        result.edges = kept.filter { reached.contains($0.from) && reached.contains($0.to) }
        result.roots = roots.filter { reached.contains($0.to) }
        for parent in order where reached.contains(parent) {
            let box = "more " + parent
            var node = Node(id: box, type: "", refcount: 0, state: "", repr: "", reachable: true)
            node.notDrawn = hidden[parent]!
            result.nodes.append(node)
            result.edges.append(
                backrefs ? Edge(from: box, to: parent, label: "") : Edge(from: parent, to: box, label: ""))
        }
        return result
    }

    /// The nodes in a reference cycle of this graph: a strongly connected component of more than one
    /// node, or a node with an edge to itself (Tarjan's algorithm, with an explicit stack).
    var nodesInCycles: Set<String> {
        var successors: [String: [String]] = [:]
        for edge in edges { successors[edge.from, default: []].append(edge.to) }
        var result = Set(edges.filter { $0.from == $0.to }.map(\.from))
        var index: [String: Int] = [:]
        var lowlink: [String: Int] = [:]
        var onStack: Set<String> = []
        var stack: [String] = []
        var calls: [(node: String, next: Int)] = []
        func enter(_ node: String) {
            index[node] = index.count
            lowlink[node] = index[node]
            stack.append(node)
            onStack.insert(node)
            calls.append((node, 0))
        }
        for start in nodes.map(\.id) where index[start] == nil {
            enter(start)
            while let (node, next) = calls.last {
                let children = successors[node, default: []]
                if next < children.count {
                    calls[calls.count - 1].next += 1
                    let child = children[next]
                    if index[child] == nil {
                        enter(child)
                    } else if onStack.contains(child) {
                        lowlink[node] = min(lowlink[node]!, index[child]!)
                    }
                    continue
                }
                calls.removeLast()
                if let parent = calls.last { lowlink[parent.node] = min(lowlink[parent.node]!, lowlink[node]!) }
                guard lowlink[node] == index[node] else { continue }
                var component: [String] = []
                while let member = stack.popLast() {
                    onStack.remove(member)
                    component.append(member)
                    if member == node { break }
                }
                if component.count > 1 { result.formUnion(component) }
            }
        }
        return result
    }
}
