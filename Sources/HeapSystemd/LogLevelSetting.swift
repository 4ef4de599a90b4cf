import Logging
import Synchronization

/// heapd's log level as one shared, changeable value, so a reload (SIGHUP) changes the level of every
/// existing `Logger` at once.
///
/// swift-log copies a handler's level into each `Logger`; handlers that read this setting instead
/// (``JournalLogHandler``, ``LevelFilteredLogHandler``) all follow a change. A level set on one logger
/// (`logger.logLevel = …`) overrides the shared one for that logger only, as swift-log expects.
public final class LogLevelSetting: Sendable {
    private let raw: Atomic<UInt8>

    public init(_ level: Logger.Level) {
        raw = Atomic(Self.index(of: level))
    }

    public var level: Logger.Level {
        get { Logger.Level.allCases[Int(raw.load(ordering: .relaxed))] }
        set { raw.store(Self.index(of: newValue), ordering: .relaxed) }
    }

    private static func index(of level: Logger.Level) -> UInt8 {
        UInt8(Logger.Level.allCases.firstIndex(of: level)!)
    }
}

/// Any log handler, filtered by a shared ``LogLevelSetting`` (the stderr handler's wrapper).
public struct LevelFilteredLogHandler<Wrapped: LogHandler>: LogHandler {
    private var wrapped: Wrapped
    private let setting: LogLevelSetting
    private var override: Logger.Level?

    public init(_ wrapped: Wrapped, setting: LogLevelSetting) {
        self.wrapped = wrapped
        self.wrapped.logLevel = .trace
        self.setting = setting
    }

    public var logLevel: Logger.Level {
        get { override ?? setting.level }
        set { override = newValue }
    }

    public var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { wrapped.metadataProvider }
        set { wrapped.metadataProvider = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue }
    }

    public func log(event: LogEvent) {
        wrapped.log(event: event)
    }
}
