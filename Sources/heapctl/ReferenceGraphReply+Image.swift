import HeapImageFormat

extension ReferenceGraphReply {
    /// An image's reference graph (`heapctl inspect IMAGE --graph @i`) in the shape of heapd's `GRAPH`
    /// reply, so that it is cut, rendered and printed as JSON by the live view's code.
    init(_ graph: ImageReferenceGraph) {
        nodes = graph.nodes.map {
            Node(
                id: $0.id, type: $0.type, refcount: $0.refcount, state: $0.state, repr: $0.repr,
                reachable: $0.reachable, length: $0.length, bytes: $0.bytes)
        }
        edges = graph.edges.map { Edge(from: $0.from, to: $0.to, label: $0.label) }
        roots = graph.roots.map { Root(label: $0.label, to: $0.to) }
        leftOut = graph.leftOut
    }
}
