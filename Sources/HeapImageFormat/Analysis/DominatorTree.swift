/// Immediate dominators of a directed graph from one root, by Cooper, Harvey and Kennedy's iterative
/// algorithm ("A Simple, Fast Dominance Algorithm", 2001): number the nodes in DFS postorder, then
/// until nothing changes, set each node's dominator (in reverse postorder) to the intersection of its
/// processed predecessors' dominators, walking up the current tree by postorder number.
///
/// Why this one and not Lengauer–Tarjan: on heap graphs (shallow, most nodes with one referrer) it
/// converges in two or three passes, and it is forty lines with no forest to link and evaluate.
///
/// The retained size of a node is what freeing it would free: its own size and everything it
/// dominates (Eclipse MAT's definition). A dominator is a DFS-tree ancestor, so it finishes later:
/// adding each node's total into its dominator's in postorder sums every subtree in one pass.
public struct DominatorTree: Sendable {
    /// `idom[v]`: v's immediate dominator; the root's is itself; -1 for nodes the root does not reach.
    public let idom: [Int]
    /// Nodes the root reaches, in DFS postorder (the root last).
    public let postorder: [Int]

    /// The tree of the graph on nodes `0..<successors.count` rooted at `root`.
    public init(successors: [[Int]], root: Int = 0) {
        let count = successors.count
        // Postorder by an iterative DFS (a heap chain can be millions deep).
        var number = [Int](repeating: -1, count: count)
        var visited = [Bool](repeating: false, count: count)
        var order: [Int] = []
        order.reserveCapacity(count)
        var stack: [(node: Int, next: Int)] = [(root, 0)]
        visited[root] = true
        while !stack.isEmpty {
            let (node, next) = stack[stack.count - 1]
            if next < successors[node].count {
                stack[stack.count - 1].next += 1
                let child = successors[node][next]
                if !visited[child] {
                    visited[child] = true
                    stack.append((child, 0))
                }
            } else {
                number[node] = order.count
                order.append(node)
                stack.removeLast()
            }
        }
        var predecessors = [[Int]](repeating: [], count: count)
        for node in order {
            for child in successors[node] where child != node { predecessors[child].append(node) }
        }

        var idom = [Int](repeating: -1, count: count)
        idom[root] = root
        var changed = true
        // Invariant: idom[v] != -1 only for nodes already given a dominator, each an ancestor of v in
        // the current approximation, whose postorder number is above v's.
        while changed {
            changed = false
            for node in order.reversed() where node != root {
                var candidate = -1
                for predecessor in predecessors[node] where idom[predecessor] != -1 {
                    if candidate == -1 {
                        candidate = predecessor
                        continue
                    }
                    var left = predecessor
                    var right = candidate
                    while left != right {
                        while number[left] < number[right] { left = idom[left] }
                        while number[right] < number[left] { right = idom[right] }
                    }
                    candidate = left
                }
                if candidate != -1, idom[node] != candidate {
                    idom[node] = candidate
                    changed = true
                }
            }
        }
        self.idom = idom
        self.postorder = order
    }

    /// Each node's retained size given its own `sizes` (0 for nodes the root does not reach).
    public func retainedSizes(_ sizes: [Int]) -> [Int] {
        var retained = [Int](repeating: 0, count: sizes.count)
        for node in postorder { retained[node] += sizes[node] }
        for node in postorder where idom[node] != node { retained[idom[node]] += retained[node] }
        return retained
    }
}
