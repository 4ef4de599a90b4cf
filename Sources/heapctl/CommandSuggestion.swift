import HeapClient
import HeapProtocol

/// "Did you mean": for a command heapd does not know (`heapctl typs`, `GC COLECT`), the nearest of
/// heapctl's own views and heapd's commands, by edit distance, as git and the shell do.
///
/// heapd's command names come from its `HELP` listing, read as the prompt reads it
/// (``CommandCatalog``), asked only after an `UNKNOWN` reply, so a correct command costs nothing.
enum CommandSuggestion {
    /// heapctl's own words: `heapctl typs` is far likelier a typo of the view than of a heapd command.
    static let views = ["run", "types", "growth", "chain", "graph", "top", "doctor", "record", "events", "metrics"]

    /// What to suggest for `words` (the command as typed), or nil when nothing is close; heapctl's views
    /// only on heapctl's command line (`views`), not at the prompt, where they do not exist.
    static func suggest(for words: [String], commands: [String], views: Bool = true) -> String? {
        guard let first = words.first else { return nil }
        var best: (distance: Int, text: String)?
        func consider(_ candidate: String, typed: String, text: String) {
            let distance = editDistance(candidate, typed)
            // Close: at most two edits, and fewer than half the word (so "x" does not become "GC").
            guard distance > 0, distance <= 2, distance * 2 < max(candidate.count, 2) else { return }
            if best == nil || distance < best!.distance { best = (distance, text) }
        }
        for view in Self.views where views { consider(view, typed: first.lowercased(), text: "heapctl " + view) }
        for name in commands {
            let width = name.split(separator: " ").count
            guard words.count >= width else { continue }
            consider(name, typed: words.prefix(width).joined(separator: " ").uppercased(), text: name)
        }
        return best?.text
    }

    /// Asks heapd's `HELP` and suggests; nil when heapd cannot say or nothing is close.
    static func suggest(for words: [String], asking connection: HeapConnection, views: Bool) -> String? {
        guard let help = try? connection.call(["HELP"]) else { return nil }
        return suggest(for: words, commands: CommandCatalog(help: help).names, views: views)
    }

    /// Damerau-Levenshtein distance (optimal string alignment): insertions, deletions, substitutions and
    /// swaps of two neighbours each cost one.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var previous2 = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], previous2[j - 2] + 1)
                }
            }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return previous[b.count]
    }
}
