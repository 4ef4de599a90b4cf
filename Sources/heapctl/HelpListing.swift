import Glibc
import HeapClient
import HeapProtocol

/// heapd's `HELP` list for people: grouped by command family, under protocol.md §5's headings, and paged
/// through `$PAGER` (else `less`) when it is longer than the terminal.
///
/// heapd's reply is one `SYNTAX  --  summary` line per command, in its table's order; the grouping is by
/// first word, so a command heapd adds later lands under "Other commands" until it is named here, and a
/// program reading heapctl's raw output (or `--json`) still gets heapd's lines as they are.
enum HelpListing {
    /// Families in protocol.md's order, each with the first words of its commands.
    static let families: [(title: String, words: Set<String>)] = [
        (
            "Connection and server",
            ["PING", "ECHO", "QUIT", "HELP", "INFO", "METRICS", "CLIENT", "DEBUG", "HELLO", "COMMAND"]
        ),
        ("Creating, naming, deleting", ["NEW", "SET", "DEL"]),
        (
            "Containers",
            [
                "APPEND", "INSERT", "GETITEM", "SETITEM", "DELITEM", "POP", "ADD", "DISCARD", "REMOVE", "LEN", "CLEAR",
                "CONTAINS", "GETATTR", "SETATTR", "DELATTR",
            ]
        ),
        ("Introspection", ["GETREFCOUNT", "REFCOUNT", "TYPE", "ID", "REPR", "VARS"]),
        ("The cycle collector (gc)", ["GC"]),
        ("Weak references and finalizers", ["WEAKREF", "DEREF", "FINALIZER"]),
        ("Generators", ["NEXT", "LIST", "SUM"]),
        ("Scopes", ["SCOPE"]),
        ("Allocation tracing (tracemalloc)", ["AT", "TRACEMALLOC"]),
        ("Heap images", ["SAVE", "BGSAVE", "LASTSAVE"]),
        ("Finding leaks and sizes", ["TYPES", "GROWTH", "CHAIN", "GRAPH", "DOCTOR", "SIZEOF"]),
    ]

    static let separator = "  --  "

    /// The listing under family headings, or nil when `reply` is not a list of command lines (`HELP x`
    /// answers one command's syntax and summary; an error stays an error).
    static func grouped(_ reply: Reply) -> String? {
        guard case .array(let items) = reply, !items.isEmpty else { return nil }
        var lines: [String] = []
        for item in items {
            guard let line = bulkString(item), line.contains(separator) else { return nil }
            lines.append(line)
        }
        var groups: [[String]] = Array(repeating: [], count: families.count + 1)
        for line in lines {
            let word = line.split(separator: " ", maxSplits: 1).first.map { $0.uppercased() } ?? ""
            groups[families.firstIndex { $0.words.contains(word) } ?? families.count].append(line)
        }
        let titles = families.map(\.title) + ["Other commands"]
        var text = ""
        for (title, group) in zip(titles, groups) where !group.isEmpty {
            if !text.isEmpty { text += "\n" }
            text += title + "\n" + group.map { "  " + $0 + "\n" }.joined()
        }
        return text
    }

    private static func bulkString(_ reply: Reply) -> String? {
        switch reply {
        case .bulk(let bytes): String(decoding: bytes, as: UTF8.self)
        case .simple(let text): text
        default: nil
        }
    }

    /// Writes `text` to stdout: through the pager when stdout is a terminal and the text is taller than
    /// it, plainly otherwise (a pipe, a file, or a short listing).
    static func show(_ text: String) {
        guard isatty(STDOUT_FILENO) == 1, text.split(separator: "\n", omittingEmptySubsequences: false).count >= rows()
        else {
            return Console.write(text)
        }
        // less: quit if it fits after all (-F), keep colours (-R), leave the text on screen (-X).
        if getenv("LESS") == nil { setenv("LESS", "FRX", 1) }
        // The reader may quit before reading everything: a write to the closed pipe must not kill heapctl.
        let previous = signal(SIGPIPE, SIG_IGN)
        defer { signal(SIGPIPE, previous) }
        guard let pipe = popen(pagerCommand(), "w") else { return Console.write(text) }
        _ = text.withCString { fputs($0, pipe) }
        pclose(pipe)
    }

    /// The terminal's height in lines (24 when it does not say).
    private static func rows() -> Int {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_row > 0 else { return 24 }
        return Int(size.ws_row)
    }

    /// `$PAGER` when set and not empty, else `less` (run by `sh -c`, so it may carry options).
    private static func pagerCommand() -> String {
        guard let value = getenv("PAGER").map({ String(cString: $0) }), !value.isEmpty else { return "less" }
        return value
    }
}
