import ArgumentParser
import Glibc
import HeapProtocol

/// `heapctl record`: samples a running heap's memory and draws it over time, like memory_profiler's
/// `mprof run` + `mprof plot` for a process that is already running.
struct RecordView: LeakView {
    static let configuration = CommandConfiguration(
        commandName: "heapctl record",
        abstract: "Record heapd's memory in use over time and draw it as SVG, with collections marked.",
        discussion: """
            Every --interval seconds heapctl reads INFO: used_bytes (the bytes of live object blocks and \
            their storage) and gc_collections_total. It stops after --duration seconds or at Ctrl-C, then \
            writes the picture: memory in use as a step curve, each collection as a dashed red line, and \
            the biggest changes labelled with their time. It prints one summary line: samples, lowest, \
            highest and last figure, collections seen.
            """)

    @Option(name: .long, help: ArgumentHelp("Seconds between samples (default 0.1).", valueName: "seconds"))
    var interval: Double = 0.1

    @Option(name: .long, help: ArgumentHelp("Seconds to record (default 10; Ctrl-C stops early).", valueName: "s"))
    var duration: Double = 10

    @Option(name: [.short, .long], help: ArgumentHelp("The SVG file to write.", valueName: "file.svg"))
    var output = "heapd-memory.svg"

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var viewOutput: ViewOutputOptions

    func validate() throws {
        guard interval >= 0.001, interval <= 3600 else {
            throw ValidationError("--interval must be between 0.001 and 3600 s")
        }
        guard duration > 0 else { throw ValidationError("--duration must be more than 0 s") }
        guard output.hasSuffix(".svg") else { throw ValidationError("record writes SVG: give a file ending in .svg") }
    }

    func show(using client: ViewClient) throws(ViewFailure) {
        if client.json {
            Console.error("--json: heapctl record draws an SVG; for programs, INFO memory with --json")
            throw ViewFailure(status: .usage)
        }
        // Ctrl-C ends the recording, not heapctl: blocked here and polled between samples.
        var interrupt = sigset_t()
        sigemptyset(&interrupt)
        sigaddset(&interrupt, SIGINT)
        var previousMask = sigset_t()
        pthread_sigmask(SIG_BLOCK, &interrupt, &previousMask)
        defer {
            var pending = sigset_t()
            sigpending(&pending)
            if sigismember(&pending, SIGINT) == 1 {
                var caught: Int32 = 0
                sigwait(&interrupt, &caught)
            }
            pthread_sigmask(SIG_SETMASK, &previousMask, nil)
        }
        var plot = MemoryPlot(title: "heapctl record (\(client.connection.socketPath))", yLabel: "used_bytes")
        let start = TopView.monotonicSeconds()
        var firstCollections: Int?
        var lastCollections = 0
        var previousBytes: Int?
        var changes: [(Double, Int, Int)] = []
        while true {
            let info = try TopView.info(client)
            let now = TopView.monotonicSeconds() - start
            let bytes = Int(info["used_bytes"] ?? "") ?? 0
            let collections = Int(info["gc_collections_total"] ?? "") ?? 0
            plot.points.append((now, bytes))
            if firstCollections == nil {
                firstCollections = collections
            } else if collections > lastCollections {
                plot.collections.append((now, collections - lastCollections))
            }
            lastCollections = collections
            if let previousBytes { changes.append((now, bytes, bytes - previousBytes)) }
            previousBytes = bytes
            var pending = sigset_t()
            sigpending(&pending)
            if sigismember(&pending, SIGINT) == 1 || now + interval > duration { break }
            usleep(useconds_t(interval * 1_000_000))
        }
        for change in changes.sorted(by: { abs($0.2) > abs($1.2) }).prefix(6) where change.2 != 0 {
            plot.marks.append((change.0, change.1, String(format2: change.0) + " s"))
        }
        let values = plot.points.map(\.1)
        Console.write(
            "\(values.count) samples over \(String(format2: plot.points.last?.0 ?? 0)) s: "
                + "used_bytes lowest \(values.min() ?? 0), highest \(values.max() ?? 0), last \(values.last ?? 0); "
                + "\(lastCollections - (firstCollections ?? lastCollections)) collections\n")
        guard PlotFile.write(plot, to: output) else { throw ViewFailure(status: .errorReply) }
    }
}
