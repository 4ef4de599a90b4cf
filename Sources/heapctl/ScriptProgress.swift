import Glibc

/// `heapctl run`'s progress line on stderr for a long script: where it is, how many commands ran, for how
/// long (`heapctl run: leak.heap:12 (REPEAT pass 37 of 500), 1532 commands, 3.4 s`).
///
/// Shown only once the script has run for a second, so short scripts print nothing extra. On a terminal
/// it is one line redrawn in place (`\r`, erase to the end) at most four times a second and erased
/// before anything else is printed and at the end; elsewhere (`--progress` into a file or a pipe) it is
/// a new line at most once a second, so a log shows the run's pace without a flood.
final class ScriptProgress {
    private let name: String
    private let terminal: Bool
    private let started = ScriptProgress.now()
    private var lastDrawn: UInt64 = 0
    private var shown = false

    static let delay: UInt64 = 1_000_000_000

    init(name: String, terminal: Bool) {
        self.name = name
        self.terminal = terminal
    }

    /// The progress line when asked for (`--progress`), else on a terminal when the transcript is not on
    /// it too (`--quiet`, or stdout redirected): a line redrawn between the transcript's lines would only
    /// flicker. Nil when none is wanted.
    static func make(name: String, requested: Bool, quiet: Bool) -> ScriptProgress? {
        let stderrIsTerminal = isatty(STDERR_FILENO) == 1
        if requested { return ScriptProgress(name: name, terminal: stderrIsTerminal) }
        guard stderrIsTerminal, quiet || isatty(STDOUT_FILENO) != 1 else { return nil }
        return ScriptProgress(name: name, terminal: true)
    }

    /// A command of `line` ran (in `pass` of a REPEAT block's `passes`, if in one); `commands` so far.
    func update(line: Int, commands: Int, pass: (Int, Int)?) {
        let now = Self.now()
        guard now &- started >= Self.delay else { return }
        let interval: UInt64 = terminal ? 250_000_000 : 1_000_000_000
        guard lastDrawn == 0 || now &- lastDrawn >= interval else { return }
        lastDrawn = now
        let seconds = Double(now &- started) / 1e9
        var text = "heapctl run: \(name):\(line)"
        if let (pass, passes) = pass { text += " (REPEAT pass \(pass) of \(passes))" }
        text += ", \(commands) commands, \(format1(seconds)) s"
        if terminal {
            Console.writeAll(STDERR_FILENO, Array(("\r" + text + "\u{1B}[K").utf8))
            shown = true
        } else {
            Console.writeAll(STDERR_FILENO, Array((text + "\n").utf8))
        }
    }

    /// Erases the line on a terminal (before other output, and at the end).
    func clear() {
        guard shown else { return }
        Console.writeAll(STDERR_FILENO, Array("\r\u{1B}[K".utf8))
        shown = false
    }

    private static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// One decimal.
    private func format1(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}
