import ArgumentParser

/// `run` and the views as ArgumentParser's subcommands of `heapctl`, so that what ArgumentParser
/// generates from the command tree knows them: the SUBCOMMANDS list of `heapctl --help`, `heapctl help
/// WORD`, the shell completion scripts and the manual page (`HeapctlReference`).
///
/// They are never parsed as subcommands: `Heapctl`'s passthrough argument captures every word from the
/// first non-option on, so `heapctl run x` still reaches `Heapctl.run()`, which parses `RunCommand` (and
/// `LeakViews` each view) on its own. Each command keeps its own name, `heapctl run`, for its usage line
/// when parsed that way; this wrapper gives the tree the last word of it, with the same options.
struct CommandReference<Command: ParsableCommand>: ParsableCommand {
    static var configuration: CommandConfiguration {
        var configuration = Command.configuration
        configuration.commandName = Command.configuration.commandName?.split(separator: " ").last.map(String.init)
        return configuration
    }

    @OptionGroup var options: Command
}

extension Heapctl {
    /// heapctl's own commands, in the order `heapctl --help` lists them.
    static let reference: [any ParsableCommand.Type] = [
        CommandReference<RunCommand>.self,
        CommandReference<TypesView>.self,
        CommandReference<GrowthView>.self,
        CommandReference<ChainView>.self,
        CommandReference<GraphView>.self,
        CommandReference<TopView>.self,
        CommandReference<DoctorView>.self,
        CommandReference<RecordView>.self,
        CommandReference<EventsCommand>.self,
        CommandReference<MetricsCommand>.self,
        CommandReference<InspectCommand>.self,
    ]

    /// The command `heapctl help WORD` describes: `run` or a view, as the tree knows it (its usage line
    /// reads `heapctl WORD`).
    static func referenced(_ word: String) -> (any ParsableCommand.Type)? {
        reference.first { $0.configuration.commandName == word }
    }
}

/// heapctl as the completion scripts (`heapctl --generate-completion-script bash|zsh|fish`) and the manual
/// page (`swift package plugin generate-manual`, which reads `heapctl --experimental-dump-help`) describe
/// it: `Heapctl`'s options and commands without its passthrough argument. The generated bash script counts
/// a repeating positional as taking every word, so with it `heapctl graph --b<Tab>` would never reach
/// `graph`'s options; the heapd command is described by the usage and the discussion instead.
struct HeapctlReference: ParsableCommand {
    /// `Heapctl`'s, with its usage at the head of the discussion as one paragraph: the manual's SYNOPSIS is
    /// generated from the arguments and would not show the heapd command, and the manual reflows text.
    static let configuration: CommandConfiguration = {
        var configuration = Heapctl.configuration
        configuration.discussion =
            "heapctl [options] COMMAND [ARG...] runs one heapd command and prints its reply; heapctl [options] "
            + "alone prompts on a terminal, else runs stdin's lines; heapctl [options] run FILE runs a script; "
            + "heapctl [options] types|growth|chain|graph|top|doctor|record are views that find leaks; heapctl inspect "
            + "IMAGE analyses a heap image offline (--chain and --graph as the live views). Options "
            + "come before the command: every word from the command on is sent to heapd as given.\n\n"
            + configuration.discussion
        return configuration
    }()

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    /// Whether `arguments` (without the program name) ask for a completion script or the manual's input.
    static func handles(_ arguments: [String]) -> Bool {
        guard let first = arguments.first else { return false }
        return first == "--experimental-dump-help" || first.hasPrefix("--generate-completion-script")
    }
}
