import ArgumentParser
import Foundation
import HeapCore
import HeapProtocol
import HeapServer
import HeapSystemd
import Logging

/// heapd: Python's memory model as a service. Parses flags and runs the server until SIGINT/SIGTERM;
/// under systemd it also speaks sd_notify, adopts an activated socket and logs to the journal
/// (HeapSystemd's ``HeapdService``).
struct Heapd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heapd",
        abstract: "A managed heap with Python's memory model, served over a Unix socket.",
        discussion: """
            With no flags heapd listens on a socket systemd passed (socket activation), else on \
            $HEAPD_SOCKET, else $XDG_RUNTIME_DIR/heapd.sock, else /run/heapd/heapd.sock as root or \
            /tmp/heapd-UID.sock. It logs to the journal when its stderr is the journal, else to stderr. \
            SIGHUP re-reads --config (log-level, access policy). See protocol.md and README.md ("Running under systemd").
            """,
        // INFO's heapd_version (HeapServer's ServerCommands.version) and heapctl's: VersionAndCompletionTests keeps them equal.
        version: "0.1.0")

    @Option(name: .long, help: "Unix socket path to listen on.")
    var socket: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Mode of the socket heapd binds, octal (default 0660 with a socket group, else 0600; the umask never decides).",
            valueName: "mode"))
    var socketMode: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Group of the socket heapd binds: a name, a gid or none (default heapd-clients when that group exists).",
            valueName: "group"))
    var socketGroup: String?

    @Option(name: .long, help: "Event-loop threads serving clients.")
    var threads: Int = 2

    @OptionGroup(title: "Limits (also keys of the --config file; a flag wins)")
    var limits: LimitOptions

    @Option(name: .long, help: "Allocator shards (threads allocating at once without sharing a lock).")
    var shards: Int = 8

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Work per stop of an automatic full collection's marking, in microseconds; 0: one stop.",
            valueName: "microseconds"))
    var gcMarkStep: Int = 1000

    @Flag(name: .long, help: "Accept test-only commands (GC DEBUG_STALL). Never in production.")
    var enableTestCommands = false

    @Option(
        name: .long,
        help: "Log level: trace, debug, info, notice, warning, error, critical (the --config file's log-level wins).")
    var logLevel: String = "info"

    @Option(name: .long, help: "Log to: auto (the journal when stderr is the journal), journal, stderr.")
    var logTarget: String = "auto"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Directory of TRACEMALLOC DUMP/LOAD files and SAVE/BGSAVE images (default: $STATE_DIRECTORY, /var/lib/heapd as root, else $XDG_STATE_HOME/heapd).",
            valueName: "dir"))
    var snapshotDir: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A heap image (SAVE/BGSAVE) to load before serving; a truncated, corrupt or newer image fails the start.",
            valueName: "path"))
    var image: String?

    @Flag(
        name: .long,
        help:
            "Resume the shared heap: load heap.image from the snapshot directory at start if it exists, save it there at SIGTERM."
    )
    var resume = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Also BGSAVE heap.image into the snapshot directory every N seconds (0: never).", valueName: "seconds"))
    var saveEvery: Int = 0

    @Option(
        name: .long,
        help:
            "Configuration file: log-level and the access policy (re-read on SIGHUP), socket-mode and socket-group (flags win); a missing file is empty."
    )
    var config: String?

    func validate() throws {
        guard Logger.Level(rawValue: logLevel.lowercased()) != nil else {
            throw ValidationError(
                "--log-level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard LogTarget(rawValue: logTarget.lowercased()) != nil else {
            throw ValidationError("--log-target must be one of auto, journal, stderr")
        }
        guard (0...1_000_000).contains(gcMarkStep) else {
            throw ValidationError("--gc-mark-step must be microseconds from 0 (one stop) to 1000000")
        }
        if let socketMode, SocketPermissions.parseMode(socketMode) == nil {
            throw ValidationError("--socket-mode must be octal permission bits from 0 to 0777 (0600, 0660, …)")
        }
    }

    func run() throws {
        // The memory cap's default depends on the machine; the file's or the flag's max-memory wins.
        let heap = HeapConfiguration(
            shardCount: shards, maxMemory: MemoryCap.defaultCapForThisProcess(), markStepMicroseconds: gcMarkStep)
        let (threads, testCommands, limits) = (threads, enableTestCommands, limits)
        let (image, resume, saveEvery) = (image, resume, saveEvery)
        let socketPermissions = SocketPermissions(
            mode: socketMode.flatMap(SocketPermissions.parseMode),
            group: socketGroup.map(SocketPermissions.Group.init(parsing:)) ?? .automatic)
        // The file's limits apply at start (a flag wins). HeapdService reads it again for the log level,
        // and fails the start (telling systemd why) if it is malformed.
        let fileLimits = config.flatMap { try? ConfigurationFile.load(path: $0).limits } ?? [:]
        let snapshots =
            snapshotDir
            ?? SnapshotDirectory.resolve(environment: ProcessInfo.processInfo.environment, uid: getuid())
        let options = HeapdService.Options(
            socketPath: socket,
            defaultSocketPath: DefaultSocketPath.resolve(
                environment: ProcessInfo.processInfo.environment, uid: getuid()),
            logLevel: Logger.Level(rawValue: logLevel.lowercased()) ?? .info,
            logTarget: LogTarget(rawValue: logTarget.lowercased()) ?? .auto,
            configurationPath: config,
            serverConfiguration: { address in
                var configuration = ServerConfiguration(
                    listenAddress: address, workerThreads: threads, heap: heap, testCommands: testCommands,
                    snapshotDirectory: snapshots, socketPermissions: socketPermissions)
                configuration.imagePath = image
                configuration.resume = resume
                configuration.saveEverySeconds = max(0, saveEvery)
                limits.apply(file: fileLimits, to: &configuration)
                return configuration
            })
        let status = HeapdService(options: options).run()
        if status != 0 { throw ExitCode(status) }
    }
}

Heapd.main()
