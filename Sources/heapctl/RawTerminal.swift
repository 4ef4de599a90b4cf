import Glibc

/// The terminal settings to restore, saved before raw mode is entered, and the terminal they belong to
/// (`-1` while not in raw mode). Globals because a signal handler, which cannot capture anything, needs
/// them; written only while no handler can be running on this single-threaded path.
///
/// The settings live in allocated memory, not in a `termios` global: Swift 6.3.1 emits a zero-initialised
/// global `termios` as a packed 57-byte symbol (it drops the padding before `c_ispeed`) while the type is
/// 60 bytes, so writing the whole struct overran it (the address sanitizer reports a global-buffer-overflow).
nonisolated(unsafe) private let savedAttributes: UnsafeMutablePointer<termios> = {
    let storage = UnsafeMutablePointer<termios>.allocate(capacity: 1)
    storage.initialize(to: termios())
    return storage
}()
nonisolated(unsafe) private var rawDescriptor: Int32 = -1

/// Puts the terminal back the way it was, moves to a fresh row (so the shell's next output is not glued
/// to the half-typed line) and dies of `signal` as if no handler had been installed, so the shell sees
/// the usual exit status (130 for SIGINT). Async-signal-safe: `tcsetattr`, `write`, `signal` and `raise`
/// are.
private func restoreTerminalAndReraise(_ signal: Int32) {
    if rawDescriptor >= 0 {
        tcsetattr(rawDescriptor, TCSANOW, savedAttributes)
        var newline: (UInt8, UInt8) = (13, 10)
        _ = write(STDOUT_FILENO, &newline, 2)
    }
    Glibc.signal(signal, SIG_DFL)
    raise(signal)
}

/// Raw mode for the line editor: no echo, no line buffering, no special keys, so every keystroke reaches
/// heapctl as bytes and the editor draws the line itself.
///
/// A terminal left in raw mode is unusable (no echo, Enter does not work), so leaving it is guaranteed
/// twice: `leave()` after every line, and a handler that restores the settings if heapctl is killed by
/// SIGINT, SIGTERM, SIGHUP or SIGQUIT while the mode is on. (Ctrl-C itself does not send SIGINT in raw
/// mode: the editor reads it as a key.)
struct RawTerminal {
    let descriptor: Int32

    /// Switches `descriptor` to raw mode, or returns `nil` if it is not a terminal that allows it.
    static func enter(_ descriptor: Int32) -> RawTerminal? {
        _ = installHandlers
        var original = termios()
        guard tcgetattr(descriptor, &original) == 0 else {
            return nil
        }
        var raw = original
        // The settings of linenoise's enableRawMode: no break signal, no CR-to-NL, no parity check, no
        // 8th-bit strip, no XON/XOFF; no output processing; 8-bit characters; no echo, no canonical mode,
        // no extended input processing, no signal keys; and read() returning after every byte.
        raw.c_iflag &= ~tcflag_t(BRKINT | ICRNL | INPCK | ISTRIP | IXON)
        raw.c_oflag &= ~tcflag_t(OPOST)
        raw.c_cflag |= tcflag_t(CS8)
        raw.c_lflag &= ~tcflag_t(ECHO | ICANON | IEXTEN | ISIG)
        withUnsafeMutableBytes(of: &raw.c_cc) { controlCharacters in
            controlCharacters[Int(VMIN)] = 1
            controlCharacters[Int(VTIME)] = 0
        }
        savedAttributes.pointee = original
        rawDescriptor = descriptor
        // TCSADRAIN rather than linenoise's TCSAFLUSH: keys typed while the previous reply was awaited
        // stay in the input and are edited, instead of being silently thrown away.
        guard tcsetattr(descriptor, TCSADRAIN, &raw) == 0 else {
            rawDescriptor = -1
            return nil
        }
        return RawTerminal(descriptor: descriptor)
    }

    /// Restores the settings saved by `enter(_:)`.
    func leave() {
        tcsetattr(descriptor, TCSADRAIN, savedAttributes)
        rawDescriptor = -1
    }

    /// Installs the restoring signal handlers, once per process.
    private static let installHandlers: Void = {
        for signalNumber in [SIGINT, SIGTERM, SIGHUP, SIGQUIT] {
            signal(signalNumber, restoreTerminalAndReraise)
        }
    }()
}
