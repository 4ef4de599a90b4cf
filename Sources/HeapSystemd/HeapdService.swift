import Foundation
import HeapCore
import HeapServer
import Logging
import NIOCore

/// heapd as a service: chooses the log target, adopts a socket systemd passed (or binds its own path),
/// tells systemd `READY=1` once clients can connect, keeps `STATUS=` and the watchdog going
/// (``HealthReporter``), reloads on SIGHUP (`RELOADING=1` … `READY=1`) and stops on SIGTERM or SIGINT
/// (`STOPPING=1`). A failed start sends `ERRNO=` and exits non-zero.
///
/// Without `$NOTIFY_SOCKET` nothing is sent and no thread is started beyond the server's own.
public final class HeapdService: Sendable {
    /// What `heapd`'s flags decided.
    public struct Options: Sendable {
        /// `--socket`, if given.
        public var socketPath: String?
        /// The path heapd binds when neither `--socket` nor systemd names a socket.
        public var defaultSocketPath: String
        /// `--log-level`: the level unless the configuration file sets one.
        public var logLevel: Logger.Level
        /// `--log-target`.
        public var logTarget: LogTarget
        /// `--config`: the file re-read on SIGHUP (``ConfigurationFile``).
        public var configurationPath: String?
        /// The server's configuration for a listen address.
        public var serverConfiguration: @Sendable (ListenAddress) -> ServerConfiguration

        public init(
            socketPath: String?, defaultSocketPath: String, logLevel: Logger.Level, logTarget: LogTarget,
            configurationPath: String?, serverConfiguration: @escaping @Sendable (ListenAddress) -> ServerConfiguration
        ) {
            self.socketPath = socketPath
            self.defaultSocketPath = defaultSocketPath
            self.logLevel = logLevel
            self.logTarget = logTarget
            self.configurationPath = configurationPath
            self.serverConfiguration = serverConfiguration
        }
    }

    private let options: Options
    private let notifier: any ServiceNotifier
    private let level: LogLevelSetting
    private let journal: JournalWriter?
    private let logger: Logger

    /// Blocks the signals heapd handles (before any thread exists), sets up logging (process-wide:
    /// call once, from `main`) and reads the environment.
    public init(options: Options, environment: [String: String] = ProcessInfo.processInfo.environment) {
        ServiceSignals.block()
        self.options = options
        notifier = SystemdNotifier(environment: environment)
        let level = LogLevelSetting(options.logLevel)
        self.level = level
        let target = options.logTarget.resolved(
            journalStream: environment["JOURNAL_STREAM"], standardError: FileIdentity.of(descriptor: 2))
        if target == .journal {
            let journal = JournalWriter()
            journal.start()
            self.journal = journal
            LoggingSystem.bootstrap { label in JournalLogHandler(label: label, writer: journal, setting: level) }
        } else {
            journal = nil
            LoggingSystem.bootstrap { label in
                LevelFilteredLogHandler(StreamLogHandler.standardError(label: label), setting: level)
            }
        }
        logger = Logger(label: "heapd")
    }

    /// Runs until SIGTERM or SIGINT; returns the process's exit status.
    public func run() -> Int32 {
        var fileSettings: ConfigurationSettings?
        if let path = options.configurationPath {
            do {
                let settings = try ConfigurationFile.load(path: path)
                apply(settings)
                fileSettings = settings
            } catch {
                return failStart(error.description, errno: EINVAL)
            }
        }
        let address: ListenAddress
        switch listenAddress() {
        case .success(let chosen): address = chosen
        case .failure(let error): return failStart(error.description, errno: error.errnoValue)
        }
        let configuration = Self.merge(options.serverConfiguration(address), fileSettings)
        if address.path == nil && configuration.socketPermissions != SocketPermissions() {
            logger.notice("socket-mode/socket-group ignored: a passed socket keeps its SocketMode=/SocketGroup=")
        }
        let server: HeapServer
        do {
            server = try HeapServer.start(configuration: configuration, logger: logger)
        } catch {
            return failStart("heapd could not start on \(address): \(error)", errno: Self.errno(of: error))
        }
        let reporter = startReporter(for: server)
        notifier.send(.ready(mainPID: getpid()) + .status(reporter?.currentStatus() ?? "ready"))
        reporter?.start()
        logger.info(
            "heapd ready",
            metadata: [
                "listen": "\(address)", "notify": "\(notifier.isActive)",
                "watchdog_usec": "\(WatchdogSettings.fromSystemd().map { UInt64($0.interval * 1e6) } ?? 0)",
                "log_target": "\(journal == nil ? "stderr" : "journal")",
            ])
        serveUntilStopped(server: server, reporter: reporter)
        journal?.stop()
        return 0
    }

    // MARK: Start-up

    private func listenAddress() -> Result<ListenAddress, SocketActivationError> {
        let passed: [ListenDescriptor]
        switch ListenDescriptors.fromSystemd() {
        case .success(let descriptors): passed = descriptors
        case .failure(let error): return .failure(error)
        }
        do {
            if let chosen = try ListenDescriptors.select(passed, socketOption: options.socketPath) {
                return .success(.inheritedDescriptor(chosen.descriptor, name: chosen.name))
            }
        } catch {
            return .failure(error)
        }
        return .success(.unixDomainSocket(path: options.socketPath ?? options.defaultSocketPath))
    }

    /// The flags' configuration with the file's settings: its policy, and its socket mode and group where
    /// no flag set them (a flag wins over the file).
    static func merge(_ flags: ServerConfiguration, _ file: ConfigurationSettings?) -> ServerConfiguration {
        guard let file else { return flags }
        var configuration = flags
        configuration.accessPolicy = file.accessPolicy
        if configuration.socketPermissions.mode == nil { configuration.socketPermissions.mode = file.socketMode }
        if configuration.socketPermissions.group == .automatic, let group = file.socketGroup {
            configuration.socketPermissions.group = group
        }
        return configuration
    }

    private func startReporter(for server: HeapServer) -> HealthReporter? {
        guard notifier.isActive else { return nil }
        let watchdog = WatchdogSettings.fromSystemd()
        let reporter = HealthReporter(
            notifier: notifier, watchdog: watchdog, statistics: { server.statistics() },
            health: watchdog.map { HealthCheck.server(server, settings: $0) } ?? HealthCheck { .healthy },
            logger: logger)
        // Weak: the reporter's statistics closure holds the server, which holds this observer.
        server.onCollectionFinished { [weak reporter] _ in reporter?.collectionFinished() }
        return reporter
    }

    /// Logs why start-up failed, tells systemd (`ERRNO=`, `STATUS=`) and returns the exit status.
    private func failStart(_ reason: String, errno: Int32) -> Int32 {
        logger.critical(
            "heapd could not start: \(reason)",
            metadata: [ServerLogEvent.metadataKey: "\(ServiceLogEvent.startFailed.rawValue)", "errno": "\(errno)"])
        notifier.send(.errno(errno) + .status("failed to start: \(reason)"))
        journal?.stop()
        return 1
    }

    static func errno(of error: any Error) -> Int32 {
        switch error {
        case let error as ServerStartError: error.errnoValue
        case let error as IOError: error.errnoCode
        default: EIO
        }
    }

    // MARK: Running

    /// Serves until SIGTERM or SIGINT, reloading on SIGHUP (``ServiceSignals``: one at a time, so a
    /// reload and a stop never interleave).
    private func serveUntilStopped(server: HeapServer, reporter: HealthReporter?) {
        while true {
            let signal = ServiceSignals.next()
            if signal == SIGHUP {
                reload(server: server, reporter: reporter)
                continue
            }
            stop(server: server, reporter: reporter, signal: signal)
            return
        }
    }

    /// `RELOADING=1`, re-read the configuration file, `READY=1`.
    private func reload(server: HeapServer, reporter: HealthReporter?) {
        notifier.send(
            .reloading(monotonicMicroseconds: monotonicNanoseconds() / 1000) + .status("reloading configuration"))
        var metadata: Logger.Metadata = [
            ServerLogEvent.metadataKey: "\(ServiceLogEvent.configurationReloaded.rawValue)"
        ]
        if let path = options.configurationPath {
            do {
                let settings = try ConfigurationFile.load(path: path)
                apply(settings)
                server.setAccessPolicy(settings.accessPolicy)
                metadata["log_level"] = "\(level.level)"
                metadata["default_role"] = "\(settings.accessPolicy.defaultRole)"
                metadata["access_rules"] = "\(settings.accessPolicy.ruleCount)"
                logger.notice("configuration reloaded from \(path)", metadata: metadata)
            } catch {
                logger.error("reload failed, settings unchanged: \(error.description)")
            }
        } else {
            metadata["log_level"] = "\(level.level)"
            logger.notice("reload: no --config file, nothing to re-read", metadata: metadata)
        }
        notifier.send(.ready(mainPID: getpid()) + .status(reporter?.currentStatus() ?? "ready"))
    }

    private func apply(_ settings: ConfigurationSettings) {
        level.level = settings.logLevel ?? options.logLevel
    }

    /// How long a graceful stop may take before heapd exits anyway (SIGTERM must end it within 2 s).
    static let stopDeadlineSeconds = 1.5

    /// `STOPPING=1`, then the reporter (no ping after this), then the server; past
    /// ``stopDeadlineSeconds`` heapd removes its socket file and exits without finishing the stop.
    private func stop(server: HeapServer, reporter: HealthReporter?, signal: Int32) {
        notifier.send(.stopping + .status("stopping"))
        logger.info("signal received, shutting down", metadata: ["signal": "\(signal)"])
        reporter?.stop()
        let (logger, journal) = (logger, journal)
        let backstop = ShutdownBackstop(seconds: Self.stopDeadlineSeconds) {
            logger.error("shutdown did not finish within \(Self.stopDeadlineSeconds) s; exiting without it")
            server.removeSocketFile()
            journal?.stop()
            _exit(0)
        }
        server.stop()
        backstop.cancel()
    }
}
