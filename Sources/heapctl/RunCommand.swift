import ArgumentParser
import Glibc

/// `heapctl run FILE`: runs a script of heapd commands.
///
/// Parsed on its own (not as an ArgumentParser subcommand) because `heapctl` hands every word after the
/// options to heapd unparsed, dashes included; `run` is recognized by `Heapctl` as the first word and the
/// rest is parsed here. heapd has no `RUN` command, so nothing is lost.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heapctl run",
        abstract: "Run a script of heapd commands over one connection, printing each reply.",
        discussion: """
            SCRIPT FORMAT
            One command per line, written exactly as at the heapd> prompt. Each line is sent to heapd as \
            it is, so heapd's own tokenizer applies: arguments are separated by spaces or tabs, "..." \
            allows the escapes \\" \\\\ \\n \\r \\t \\a \\b \\xHH, and '...' is literal. Blank lines and \
            lines starting with # (comments take whole lines) are skipped. A line reading quit or exit \
            ends the script. All lines share one connection, so variables persist from line to line. \
            A line REPEAT n and a later line END (heapctl's own, not heapd commands) run the lines between \
            them n times (1 to 10000000; blocks do not nest); each run is still attributed to its own line.

            OUTPUT
            Each command is echoed after its line number and followed by its reply, as redis-cli prints \
            replies on a terminal (whatever stdout is; heapctl --raw run ... prints replies bare instead):
              3> GETREFCOUNT a
              (integer) 2
            INFO and HELP replies are printed as plain lines. --comments also echoes comment and blank \
            lines, so a commented script reads as a narrated session. --json prints instead one JSON \
            object per command on its own line:
              {"line":3,"command":"GETREFCOUNT a","reply":2}
            where an error reply is {"error":"CODE","message":"..."}. After GC SUBSCRIBE, heapctl only \
            prints the events heapd pushes, one reply each, until Ctrl-C; later lines do not run.

            MEASURING MEMORY
            Every line is sent as AT FILE:LINE <line>, so heapd's tracemalloc attributes what the line \
            allocates to FILE:LINE (see TRACEMALLOC in protocol.md). These options start tracing for the \
            script when it is off, and stop it afterwards:
              --trace    after the script, the top lines by memory they allocated that is still alive \
            (Python's tracemalloc "top 10 lines"), with the traced current and peak memory;
              --profile  a memory_profiler-style table: per line, the traced memory in use after it (the \
            highest after any of its runs), its increment (summed over its runs), how many times it ran, \
            and the line;
              --plot FILE.svg  memory in use over the script's run as an SVG picture, with collections \
            marked and the lines that moved memory most labelled (like mprof plot).
            --quiet leaves out the transcript. heapctl record draws the same picture for a running heap.

            PROGRESS
            A script that runs for more than a second shows where it is on stderr, redrawn in place:
              heapctl run: leak.heap:12 (REPEAT pass 37 of 500), 1532 commands, 3.4 s
            It is shown when stderr is a terminal and the transcript is not on it (--quiet, --json, or stdout \
            redirected), and always with --progress (into a file or a pipe, a new line at most once a second). \
            It is erased when the script ends.

            ERRORS AND EXIT STATUS
            The first error reply stops the script: heapctl names FILE:LINE on stderr and exits 1. With \
            --keep-going every line runs and the failed lines are listed at the end; the exit status is \
            still 1. Exit status 2 means heapd could not be reached or the connection broke (the message \
            names the line), 66 that FILE could not be read, 0 that every command succeeded.
            """)

    @Argument(help: ArgumentHelp("The script to run, or - to read it from stdin.", valueName: "file"))
    var file: String

    @Flag(name: .long, help: "Run the remaining lines after an error reply (the exit status is still 1).")
    var keepGoing = false

    @Flag(name: .long, help: "Print one JSON object per command instead of a transcript.")
    var json = false

    @Flag(name: .long, help: "Echo comment and blank lines too, so the output reads as a narrated session.")
    var comments = false

    @Flag(name: .long, help: "Trace allocations and print the top lines by memory still allocated.")
    var trace = false

    @Flag(name: .long, help: "Print a memory_profiler-style table: memory after each line and its increment.")
    var profile = false

    @Option(name: .long, help: ArgumentHelp("Draw memory in use over the run as SVG.", valueName: "file.svg"))
    var plot: String?

    @Option(name: .long, help: ArgumentHelp("Frames per traceback when heapctl starts tracing.", valueName: "n"))
    var frames = 1

    @Option(name: .long, help: ArgumentHelp("Lines shown by --trace.", valueName: "n"))
    var top = 10

    @Flag(name: [.short, .long], help: "Leave out the transcript (errors and reports still print).")
    var quiet = false

    @Flag(
        name: .long,
        help:
            "Show progress on stderr once the script has run for a second (the default on a terminal when the transcript is not on it)."
    )
    var progress = false

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        if let plot, !plot.hasSuffix(".svg") { throw ValidationError("--plot writes SVG: give a file ending in .svg") }
        guard frames >= 1, frames <= 65535 else { throw ValidationError("--frames must be between 1 and 65535") }
        guard top >= 1 else { throw ValidationError("--top must be 1 or more") }
        if json && (trace || profile) { throw ValidationError("--json cannot be combined with --trace or --profile") }
    }

    /// Parses `arguments` (the words after `run`), or exits with `heapctl run`'s usage or help.
    static func parseOrExit(_ arguments: [String]) -> RunCommand {
        do {
            return try parse(arguments)
        } catch {
            exitBriefly(withError: error, helpCommand: "heapctl run")
        }
    }

    /// Runs the script with the options given before `run` as defaults for the ones given after it.
    func execute(inheriting global: ConnectionOptions, output: OutputOptions) -> ExitStatus {
        let mode = json ? .json : output.mode(fallback: .human)
        let endpoint = global.overridden(by: connection)
        let descriptor: Int32
        let name: String
        if file == "-" {
            descriptor = STDIN_FILENO
            name = "<stdin>"
        } else {
            descriptor = open(file, O_RDONLY | O_CLOEXEC)
            name = file
            guard descriptor >= 0 else {
                Console.error("cannot read \(file): \(String(cString: strerror(errno)))")
                return .noInput
            }
        }
        defer {
            if descriptor != STDIN_FILENO {
                close(descriptor)
            }
        }
        var runner = ScriptRunner(
            name: name, reader: LineReader(descriptor: descriptor), endpoint: endpoint, mode: mode,
            keepGoing: keepGoing, echoComments: comments)
        runner.quiet = quiet
        runner.progress = ScriptProgress.make(name: name, requested: progress, quiet: quiet || mode == .json)
        if trace || profile || plot != nil {
            runner.instruments = ScriptInstruments(
                scriptName: name, trace: trace, profile: profile, plotPath: plot, frames: frames, top: top)
        }
        return runner.run()
    }
}
