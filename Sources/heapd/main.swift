import ArgumentParser
import Foundation
import HeapCore
import HeapProtocol
import HeapServer
import Logging

/// heapd: Python's memory model as a service. Parses flags and runs the server until SIGINT/SIGTERM.
struct Heapd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heapd",
        abstract: "A managed heap with Python's memory model, served over a Unix socket.",
        discussion: """
            With no flags heapd listens on $HEAPD_SOCKET, else $XDG_RUNTIME_DIR/heapd.sock, else \
            /run/heapd/heapd.sock as root or /tmp/heapd-UID.sock, and logs to stderr. See protocol.md.
            """)

    @Option(name: .long, help: "Unix socket path to listen on.")
    var socket: String?

    @Option(name: .long, help: "Event-loop threads serving clients.")
    var threads: Int = 2

    @Option(name: .long, help: "Most clients connected at once.")
    var maxClients: Int = 10_000

    @Option(name: .long, help: "Longest inline request line, in bytes.")
    var maxLine: Int = 65_536

    @Option(name: .long, help: "Most arguments in one request.")
    var maxArgs: Int = 1_024

    @Option(name: .long, help: "Longest bulk argument (RESP), in bytes.")
    var maxBulk: Int = 536_870_912

    @Option(name: .long, help: "Most objects alive at once (handle-table capacity).")
    var maxObjects: Int = 1 << 26

    @Option(name: .long, help: "Allocator shards (threads allocating at once without sharing a lock).")
    var shards: Int = 8

    @Flag(name: .long, help: "Accept test-only commands (GC DEBUG_STALL). Never in production.")
    var enableTestCommands = false

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() throws {
        let level = Logger.Level(rawValue: logLevel.lowercased()) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "heapd")
        let path = socket ?? DefaultSocketPath.resolve(environment: ProcessInfo.processInfo.environment, uid: getuid())
        let configuration = ServerConfiguration(
            listenAddress: .unixDomainSocket(path: path),
            workerThreads: threads,
            maxClients: maxClients,
            protocolLimits: ProtocolLimits(maxLineLength: maxLine, maxArguments: maxArgs, maxBulkLength: maxBulk),
            heap: HeapConfiguration(maxObjects: maxObjects, shardCount: shards),
            testCommands: enableTestCommands)
        let server: HeapServer
        do {
            server = try HeapServer.start(configuration: configuration, logger: logger)
        } catch {
            logger.critical("heapd could not start: \(error)")
            throw ExitCode(1)
        }
        let stopped = DispatchSemaphore(value: 0)
        let queue = DispatchQueue(label: "heapd.signals")
        var sources: [DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler {
                logger.info("signal received, shutting down", metadata: ["signal": "\(signalNumber)"])
                server.stop()
                stopped.signal()
            }
            source.resume()
            sources.append(source)
        }
        stopped.wait()
        _ = sources
    }
}

Heapd.main()
