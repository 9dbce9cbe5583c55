/// A tree of series in which every parent is the sum of its children: villages › townships › counties › city,
/// or whatever tree a user's file describes.
package struct Hierarchy: Sendable {
    /// Every node, in a stable order (sorted by name).
    package let nodes: [String]
    package let parent: [String: String]
    /// Children of each aggregate node, sorted by name; sums are taken in this order.
    package let children: [String: [String]]

    package struct Problem: Error, CustomStringConvertible, Sendable {
        package let description: String
    }

    /// `parents` maps each node to its parent (nil for a root). Parents that are not themselves listed are
    /// added as roots. Cycles are refused.
    package init(parents: [String: String?]) throws(Problem) {
        var parent: [String: String] = [:]
        var names = Set(parents.keys)
        for (node, up) in parents {
            guard let up, !up.isEmpty else { continue }
            if up == node { throw Problem(description: "'\(node)' names itself as its parent") }
            parent[node] = up
            names.insert(up)
        }
        for start in names {
            var seen: Set<String> = [start]
            var current = start
            while let up = parent[current] {
                if seen.contains(up) { throw Problem(description: "the parent column has a cycle through '\(start)'") }
                seen.insert(up)
                current = up
            }
        }
        var children: [String: [String]] = [:]
        for (node, up) in parent { children[up, default: []].append(node) }
        self.nodes = names.sorted()
        self.parent = parent
        self.children = children.mapValues { $0.sorted() }
    }

    package var leaves: [String] { nodes.filter { children[$0] == nil } }
    package var aggregates: [String] { nodes.filter { children[$0] != nil } }
    package func isLeaf(_ node: String) -> Bool { children[node] == nil }

    /// Nodes with every child before its parent.
    package var childrenFirst: [String] {
        var order: [String] = []
        var visited: Set<String> = []
        func visit(_ node: String) {
            guard visited.insert(node).inserted else { return }
            for child in children[node] ?? [] { visit(child) }
            order.append(node)
        }
        for node in nodes { visit(node) }
        return order
    }

    /// Leaves' values summed up the tree: every aggregate is exactly the sum of its children, added in order.
    package func aggregate(leaves values: [String: Double]) -> [String: Double] {
        var result = values
        for node in childrenFirst {
            guard let kids = children[node] else { continue }
            result[node] = kids.reduce(0) { $0 + (result[$1] ?? 0) }
        }
        return result
    }

    /// The leaves below a node (itself, if it is one).
    package func leaves(under node: String) -> [String] {
        guard let kids = children[node] else { return [node] }
        return kids.flatMap { leaves(under: $0) }
    }
}
