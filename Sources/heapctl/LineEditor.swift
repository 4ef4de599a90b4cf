import Foundation
import Glibc

/// A small line editor for the `heapd>` prompt, in the spirit of antirez's linenoise (which `redis-cli`
/// uses): raw terminal mode, a handful of Emacs-style keys, history, and nothing else.
///
/// Why not readline or libedit: neither is present on every server, readline is GPL, and the prompt needs
/// only the basics. Why not `Swift.readLine`: the terminal's cooked mode cannot move the cursor or recall
/// history, which makes fixing a typo in a long `NEW` line a chore.
///
/// Keys: Left/Right (Ctrl-B/F) move, Home/End (Ctrl-A/E) jump, Alt-B/F or Ctrl-Left/Right move by word,
/// Backspace and Delete delete, Ctrl-U cuts to the start, Ctrl-K to the end, Ctrl-W the previous word,
/// Up/Down (Ctrl-P/N) walk the history, Ctrl-L clears the screen, Tab completes a command name (from
/// ``CommandCatalog``), Enter accepts. Ctrl-C abandons the line
/// (as in a shell or Python's prompt), Ctrl-D on an empty line ends the input, elsewhere deletes.
///
/// The line is drawn on one terminal row: when it is wider than the terminal it scrolls sideways instead
/// of wrapping, so every redraw is just carriage return, prompt, visible text, clear to end of row and a
/// cursor move, with no need to track how many rows were used. Every character is taken to be one column
/// wide, which holds for commands and most values.
///
/// When stdin or stdout is not a terminal, or `$TERM` names one that does not understand the escape
/// sequences (`dumb`), the editor falls back to printing the prompt and reading a plain line.
final class LineEditor {
    /// What `readLine(prompt:)` produced.
    enum Outcome: Equatable {
        /// A line was entered (possibly empty).
        case line(String)
        /// Ctrl-C abandoned the line.
        case interrupted
        /// Ctrl-D on an empty line, or the input ended.
        case endOfInput
    }

    /// Lines already entered, for Up and Down; the caller decides what to add.
    var history: History
    /// heapd's commands, for Tab and the hint after the cursor; nil: neither.
    var catalog: CommandCatalog?

    private let input = STDIN_FILENO
    private let output = STDOUT_FILENO

    init(history: History) {
        self.history = history
    }

    /// Shows `prompt` and returns the line the user enters.
    func readLine(prompt: String) -> Outcome {
        guard Self.canEdit(input: input, output: output), let terminal = RawTerminal.enter(input) else {
            return readPlainLine(prompt: prompt)
        }
        defer { terminal.leave() }
        return edit(prompt: prompt)
    }

    /// Whether the terminal on both ends supports raw-mode editing.
    static func canEdit(input: Int32, output: Int32) -> Bool {
        guard isatty(input) == 1, isatty(output) == 1 else {
            return false
        }
        let term = ProcessInfo.processInfo.environment["TERM"] ?? ""
        return !["dumb", "cons25", "emacs"].contains(term)
    }

    /// The editing loop, run in raw mode: one key, one change, one redraw.
    private func edit(prompt: String) -> Outcome {
        var line = EditLine()
        var recall = History.Recall(history)
        let keys = KeyReader(descriptor: input)
        redraw(prompt: prompt, line: line)
        while true {
            guard let key = keys.next() else {
                finish(prompt: prompt, line: &line, mark: "")
                return line.isEmpty ? .endOfInput : .line(line.text)
            }
            switch key {
            case .enter:
                finish(prompt: prompt, line: &line, mark: "")
                return .line(line.text)
            case .interrupt:
                finish(prompt: prompt, line: &line, mark: "^C")
                return .interrupted
            case .endOfFile where line.isEmpty:
                finish(prompt: prompt, line: &line, mark: "")
                return .endOfInput
            case .endOfFile, .delete: line.deleteForward()
            case .character(let character): line.insert(character)
            case .tab:
                // One candidate: take it. Several: extend to what they share, else list them.
                let prefix = String(line.characters.prefix(line.cursor))
                let candidates = catalog?.completions(of: prefix) ?? []
                if candidates.count == 1 {
                    line.replacePrefix(upToCursorWith: candidates[0])
                } else if candidates.count > 1 {
                    let shared = candidates.dropFirst().reduce(candidates[0]) { common, next in
                        String(zip(common, next).prefix { $0 == $1 }.map(\.0))
                    }
                    if shared.count > prefix.count {
                        line.replacePrefix(upToCursorWith: shared)
                    } else {
                        write(
                            "\r\n" + candidates.map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: "  ")
                                + "\r\n")
                    }
                }
            case .backspace: line.deleteBackward()
            case .left: line.moveLeft()
            case .right: line.moveRight()
            case .home: line.moveToStart()
            case .end: line.moveToEnd()
            case .wordLeft: line.moveWordLeft()
            case .wordRight: line.moveWordRight()
            case .killToStart: line.killToStart()
            case .killToEnd: line.killToEnd()
            case .killWordBackward: line.killWordBackward()
            case .up:
                if let older = recall.older(current: line.text) {
                    line = EditLine(older)
                }
            case .down:
                if let newer = recall.newer(current: line.text) {
                    line = EditLine(newer)
                }
            case .clearScreen:
                // Cursor home, then erase the whole screen; the redraw below puts the line back on top.
                write("\u{1B}[H\u{1B}[2J")
            case .ignored:
                continue
            }
            redraw(prompt: prompt, line: line)
        }
    }

    /// Redraws the line with the cursor at its end, writes `mark` (such as `^C`) and moves to a new row,
    /// so that the finished line stays on screen as it was entered. Raw mode does not turn `\n` into
    /// `\r\n`, hence the explicit carriage return.
    private func finish(prompt: String, line: inout EditLine, mark: String) {
        line.moveToEnd()
        // Without the hint: the finished line stays on screen as entered.
        redraw(prompt: prompt, line: line, hinting: false)
        write(mark + "\r\n")
    }

    /// Draws prompt and line on the current row, scrolled so that the cursor is visible.
    private func redraw(prompt: String, line: EditLine, hinting: Bool = true) {
        let columns = max(Self.terminalColumns(output), 20)
        // A prompt wider than half the row (a long socket path) keeps only its end, "...sock> ".
        let promptCharacters = Array(prompt)
        let shownPrompt = String(promptCharacters.suffix(columns / 2))
        let promptWidth = min(promptCharacters.count, columns / 2)
        var first = 0
        var length = line.characters.count
        var cursor = line.cursor
        while promptWidth + cursor >= columns {
            first += 1
            length -= 1
            cursor -= 1
        }
        length = min(length, columns - promptWidth)
        var text = "\r" + shownPrompt + String(line.characters[first..<first + length])
        // The arguments still to type, dimmed, when the cursor is at the end and the row has room.
        if hinting, line.cursor == line.characters.count, let hint = catalog?.hint(for: line.text) {
            let room = columns - promptWidth - length - 1
            if room > 3 { text += "\u{1B}[90m" + String(hint.prefix(room)) + "\u{1B}[0m" }
        }
        // Clear what a longer previous version of the line left behind, then put the cursor in place.
        text += "\u{1B}[0K\r"
        if promptWidth + cursor > 0 {
            text += "\u{1B}[\(promptWidth + cursor)C"
        }
        write(text)
    }

    /// The terminal's width, or 80 when it cannot be asked.
    private static func terminalColumns(_ descriptor: Int32) -> Int {
        var size = winsize()
        guard ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else {
            return 80
        }
        return Int(size.ws_col)
    }

    /// The fallback without raw mode: the terminal's own line editing, no history keys. When stdout is
    /// not a terminal (`heapctl > log`), the prompt goes to stderr so that the person typing still sees
    /// it and the log holds only replies.
    private func readPlainLine(prompt: String) -> Outcome {
        let promptDescriptor = isatty(output) == 1 ? output : STDERR_FILENO
        Console.writeAll(promptDescriptor, Array(prompt.utf8))
        guard let line = Swift.readLine(strippingNewline: true) else {
            Console.writeAll(promptDescriptor, Array("\n".utf8))
            return .endOfInput
        }
        return .line(line)
    }

    private func write(_ text: String) {
        Console.writeAll(output, Array(text.utf8))
    }
}
