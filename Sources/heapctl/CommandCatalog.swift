import HeapProtocol

/// heapd's commands as the prompt knows them, from its `HELP` listing: for Tab completion of command
/// names and for the argument hint shown after the cursor, as redis-cli does with its command table.
struct CommandCatalog {
    struct Entry {
        /// The name's words, upper case: `["GC", "COLLECT"]`.
        let words: [String]
        /// The syntax after the name: `["[generation]"]`.
        let arguments: [String]
    }

    let entries: [Entry]

    /// The command names, `GC COLLECT` style.
    var names: [String] { entries.map { $0.words.joined(separator: " ") } }

    init(entries: [Entry]) {
        self.entries = entries
    }

    /// From a `HELP` reply: each entry is `NAME ARG... -- summary`, the name its leading upper-case words.
    init(help reply: Reply) {
        var entries: [Entry] = []
        for item in reply.items ?? [] {
            guard let line = item.text else { continue }
            let syntax = (line.components(separatedBy: "  --").first ?? line).split(separator: " ").map(String.init)
            let name = syntax.prefix { word in
                !word.isEmpty && word.allSatisfy { $0.isUppercase || $0.isNumber || $0 == "_" }
            }
            guard !name.isEmpty else { continue }
            // An optional group (`[value | items...]`) is one argument, however many words it has.
            var arguments: [String] = []
            var depth = 0
            for word in syntax.dropFirst(name.count) {
                if depth > 0 { arguments[arguments.count - 1] += " " + word } else { arguments.append(word) }
                depth += word.filter { $0 == "[" }.count - word.filter { $0 == "]" }.count
            }
            entries.append(Entry(words: Array(name), arguments: arguments))
        }
        self.entries = entries
    }

    /// The lines Tab may turn `text` into: its last word completed to a command-name word that fits what
    /// comes before it (case-insensitive), in upper case, each followed by a space. Empty when the last
    /// word is past the name or nothing fits.
    func completions(of text: String) -> [String] {
        var typed = text.split(separator: " ", omittingEmptySubsequences: true).map { $0.uppercased() }
        let partial = text.hasSuffix(" ") || text.isEmpty ? "" : (typed.popLast() ?? "")
        // The words before the one completed are part of the name: they come back upper case too.
        let lead = typed.isEmpty ? "" : typed.joined(separator: " ") + " "
        var seen: Set<String> = []
        var result: [String] = []
        for entry in entries where entry.words.count > typed.count && Array(entry.words.prefix(typed.count)) == typed {
            let word = entry.words[typed.count]
            guard word.hasPrefix(partial), seen.insert(word).inserted else { continue }
            result.append(lead + word + " ")
        }
        return result.sorted()
    }

    /// The arguments still to type after `text`, when its first words name a command: what the prompt
    /// shows, dimmed, after the cursor (`NEW x` hints `kind [value...]`).
    func hint(for text: String) -> String? {
        let typed = text.split(separator: " ", omittingEmptySubsequences: true).map { $0.uppercased() }
        guard !typed.isEmpty else { return nil }
        // The longest name the line starts with (GC COLLECT over a one-word GC).
        let match = entries.filter { typed.starts(with: $0.words) }.max { $0.words.count < $1.words.count }
        guard let match else { return nil }
        // Arguments typed so far; with no space after the last word, that word is still being typed and
        // the hint starts after it (after the name itself: the whole syntax).
        let typedArguments = typed.count - match.words.count
        guard typedArguments < match.arguments.count else { return nil }
        let rest = match.arguments.dropFirst(typedArguments).joined(separator: " ")
        return text.hasSuffix(" ") ? rest : " " + rest
    }
}
