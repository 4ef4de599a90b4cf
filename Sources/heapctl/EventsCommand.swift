import ArgumentParser

/// `heapctl events`: `GC SUBSCRIBE` and the events it brings, until Ctrl-C (Python's `gc.callbacks`,
/// watched from outside).
struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heapctl events",
        abstract: "Print the collector's events (collections, finalizers, cleared weak references) as they happen.",
        discussion: """
            The same as heapctl GC SUBSCRIBE. Each event is one line: as redis-cli prints a pushed array on a \
            terminal, bare in a pipe, or with --json one JSON object with named fields, such as \
            {"event":"gc-stop","generation":0,"collected":2,"uncollectable":0,"pause_us":41}; the other \
            events are gc-start (generation), finalizer (object, type) and weakref-cleared (weakref, \
            target). Ctrl-C ends it.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: .long, help: "One JSON object per event, with named fields.")
    var json = false

    func execute(inheriting global: ConnectionOptions, output: OutputOptions, fallback: OutputMode) -> ExitStatus {
        let mode: OutputMode = json ? .json : output.mode(fallback: fallback)
        let endpoint = global.overridden(by: connection)
        return OneShot(arguments: ["GC", "SUBSCRIBE"], endpoint: endpoint, renderer: ReplyRenderer(mode: mode)).run()
    }
}
