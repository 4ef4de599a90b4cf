import Foundation
import Glibc

/// The lines entered at the prompt, oldest first, bounded and kept between runs in a file (by default
/// `~/.heapctl_history`), like a shell's history.
///
/// The file is rewritten after every line, as linenoise does for `redis-cli`: a crashed or killed session
/// then loses nothing, and at 1000 short lines the write is cheap. Failing to read or write it is not an
/// error worth interrupting anyone for, so such failures only mean no history.
struct History {
    /// How many lines are kept.
    static let defaultCapacity = 1000

    private(set) var entries: [String]
    let capacity: Int
    /// The file the history is kept in, or `nil` to keep it in memory only.
    let path: String?

    /// An empty history kept in memory only.
    init(capacity: Int = defaultCapacity) {
        self.init(entries: [], capacity: capacity, path: nil)
    }

    private init(entries: [String], capacity: Int, path: String?) {
        self.entries = entries
        self.capacity = capacity
        self.path = path
    }

    /// The history stored at `path` (none yet if the file does not exist).
    static func load(path: String?, capacity: Int = defaultCapacity) -> History {
        guard let path else {
            return History(capacity: capacity)
        }
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        return History(entries: Array(lines.suffix(capacity)), capacity: capacity, path: path)
    }

    /// Where the history lives: `$HEAPCTL_HISTFILE` if set (empty for none), else `~/.heapctl_history`.
    static func defaultPath(environment: [String: String]) -> String? {
        if let explicit = environment["HEAPCTL_HISTFILE"] {
            return explicit.isEmpty ? nil : explicit
        }
        guard let home = environment["HOME"], !home.isEmpty else {
            return nil
        }
        return home + "/.heapctl_history"
    }

    /// Appends `line`, unless it is empty or repeats the previous line, drops the oldest lines beyond the
    /// capacity and saves.
    mutating func add(_ line: String) {
        guard !line.isEmpty, line != entries.last else {
            return
        }
        entries.append(line)
        if entries.count > capacity {
            entries.removeFirst(entries.count - capacity)
        }
        save()
    }

    /// Writes the history to a temporary file readable only by the user, then renames it over the old one,
    /// so that a session killed mid-write leaves the previous history intact. Private because a history may
    /// hold values typed into the heap.
    private func save() {
        guard let path else {
            return
        }
        let temporary = path + ".tmp\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            return
        }
        let bytes = Array(entries.map { $0 + "\n" }.joined().utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        if written == bytes.count {
            rename(temporary, path)
        } else {
            unlink(temporary)
        }
    }

    /// Walks the history with Up and Down while one line is edited.
    ///
    /// As in linenoise, the line being typed is kept as the newest entry, and edits to a recalled line
    /// stay with it until the line is entered, so one can go up, change something, look further up and
    /// come back to the change; the history itself only changes when a line is entered.
    struct Recall {
        private var lines: [String]
        private var index: Int

        init(_ history: History) {
            lines = history.entries + [""]
            index = lines.count - 1
        }

        /// The older line to show, after remembering `current` as the text of the line shown now.
        mutating func older(current: String) -> String? {
            guard index > 0 else {
                return nil
            }
            lines[index] = current
            index -= 1
            return lines[index]
        }

        /// The newer line to show, after remembering `current`.
        mutating func newer(current: String) -> String? {
            guard index < lines.count - 1 else {
                return nil
            }
            lines[index] = current
            index += 1
            return lines[index]
        }
    }
}
