import ArgumentParser
import Glibc

/// heapctl, the command-line client of heapd, shaped after `redis-cli` so that habits carry over: one
/// command from the arguments, a prompt on a terminal, commands from stdin in a pipe, and `run` for
/// scripts.
///
/// Options are only recognized before the command: everything from the first non-option word on is the
/// command and goes to heapd untouched, so `heapctl ECHO --json` echoes `--json`.
struct Heapctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heapctl",
        abstract: "The command-line client of heapd.",
        usage: """
            heapctl [options] COMMAND [ARG...]   run one command and print its reply
            heapctl [options]                    prompt on a terminal, else run stdin's lines
            heapctl [options] run FILE|- ...     run a script (see heapctl run --help)
            heapctl [options] types|growth|chain|graph|top|doctor|record ...
                                                 views that find leaks (heapctl types --help, ...)
            heapctl [options] events [--json]    the collector's events as they happen (GC SUBSCRIBE)
            heapctl [options] metrics [--listen HOST:PORT]
                                                 Prometheus metrics, printed or served at /metrics
            heapctl inspect IMAGE [--chain @i | --graph @i]
                                                 analyse a heap image (SAVE) offline, no daemon needed
            """,
        discussion: """
            Replies print as redis-cli prints them: for people when stdout is a terminal ((integer) 2, \
            "quoted" strings, (error) CODE message), bare otherwise; --raw, --no-raw and --json choose \
            (INFO with --json is an object of sections of named fields). The views take --json before or \
            after their name (heapctl types --json): one line of JSON with named fields. \
            HELP lists heapd's commands (heapctl HELP, or HELP at the prompt).

            At the heapd> prompt all lines share one connection, so variables persist until quit, exit \
            or Ctrl-D. Editing: Left/Right, Home/End (Ctrl-A/E), Backspace, Delete, Ctrl-U/K/W cut to \
            the start, to the end, the previous word, Up/Down walk the history, Ctrl-C drops the line, \
            Ctrl-L clears the screen, Tab completes heapd's command names (and lists them when several \
            fit), and the arguments still to type show dimmed after the cursor. The history is kept in ~/.heapctl_history (last 1000 lines; \
            $HEAPCTL_HISTFILE overrides the path, empty disables it).

            With stdin not a terminal, each line of stdin is a command (as with redis-cli < FILE): all \
            lines run, replies are printed, and blank and # comment lines are skipped.

            A line REPEAT n, the lines after it and a line END run those lines n times, at the prompt (which \
            reads the block at a ... prompt) and on stdin as in scripts: the first pass prints its replies, \
            later passes only their errors.

            After GC SUBSCRIBE, in any mode, heapctl stops sending commands and prints the events heapd \
            pushes until Ctrl-C, as redis-cli does after SUBSCRIBE.

            Without --socket heapctl connects to $HEAPD_SOCKET, else to the first of heapd's per-user \
            socket ($XDG_RUNTIME_DIR/heapd.sock, else /tmp/heapd-UID.sock) and the system service's \
            /run/heapd/heapd.sock that exists. The system socket admits root and the group heapd-clients.

            Exit status: 0 success, 1 an error reply, 2 heapd unreachable or connection lost, 64 a \
            command-line mistake, 66 an unreadable script, 69 `metrics --listen` could not bind its address.
            """,
        // heapd's version (Sources/heapd/main.swift, INFO's heapd_version): VersionAndCompletionTests keeps them equal.
        version: "0.1.0",
        subcommands: reference)

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    @Argument(
        parsing: .captureForPassthrough,
        help: ArgumentHelp("The heapd command and its arguments, sent as given.", valueName: "command"))
    var command: [String] = []

    func run() throws {
        // `--` ends the options explicitly: what follows is a heapd command, even `run`.
        if command.first == "--" {
            return try finish(with: dispatch(command: Array(command.dropFirst()), recognizingRun: false))
        }
        // ArgumentParser's --version lands in the passthrough capture too.
        if command == ["--version"] {
            throw CleanExit.message(Self.configuration.version)
        }
        // `heapctl help run`, `heapctl help types`: the help of heapctl's own commands (any other
        // `help …` is heapd's HELP, case-insensitive).
        if command.count == 2, command[0] == "help", let type = Self.referenced(command[1]) {
            throw CleanExit.helpRequest(type)
        }
        // Passthrough capture starts at the first word heapctl does not know, so a help flag or a
        // misspelled option lands here; heapd commands never start with a dash.
        if let first = command.first, first.hasPrefix("-"), first != "-" {
            if ["-h", "--help", "-help"].contains(first) {
                throw CleanExit.helpRequest(self)
            }
            throw ValidationError("Unknown option '\(first)'")
        }
        try finish(with: dispatch(command: command, recognizingRun: true))
    }

    /// Ends `run()` with `status`: ArgumentParser exits with the code of a thrown `ExitCode`.
    private func finish(with status: ExitStatus) throws {
        if status != .success {
            throw ExitCode(status.rawValue)
        }
    }

    /// Picks the mode from the command line and what stdin and stdout are, and runs it.
    private func dispatch(command: [String], recognizingRun: Bool) -> ExitStatus {
        // Like redis-cli: readable replies for a person at a terminal, bare values for a pipeline.
        let fallback: OutputMode = isatty(STDOUT_FILENO) == 1 ? .human : .raw
        let renderer = ReplyRenderer(mode: output.mode(fallback: fallback))
        if recognizingRun && command.first == "run" {
            return RunCommand.parseOrExit(Array(command.dropFirst()))
                .execute(inheriting: connection, output: output)
        }
        if recognizingRun && command.first == "events" {
            return EventsCommand.parseOrExit(Array(command.dropFirst()))
                .execute(inheriting: connection, output: output, fallback: fallback)
        }
        if recognizingRun && command.first == "metrics" {
            return MetricsCommand.parseOrExit(Array(command.dropFirst())).execute(inheriting: connection)
        }
        if recognizingRun && command.first == "inspect" {
            return InspectCommand.parseOrExit(Array(command.dropFirst())).execute()
        }
        if recognizingRun, let status = LeakViews.run(command, inheriting: connection, json: output.json) {
            return status
        }
        if !command.isEmpty {
            return OneShot(arguments: command, endpoint: connection.endpoint, renderer: renderer).run()
        }
        if isatty(STDIN_FILENO) == 1 {
            return InteractiveSession(endpoint: connection.endpoint, renderer: renderer).run()
        }
        return PipedSession(endpoint: connection.endpoint, renderer: renderer).run()
    }
}
