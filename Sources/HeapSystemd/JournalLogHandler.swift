import Logging

/// A swift-log handler that writes structured entries to journald (see ``JournalEntry`` for the fields)
/// through a ``JournalWriter``, so a log call costs building the entry and one queue append.
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let writer: JournalWriter
    private let setting: LogLevelSetting
    private var override: Logger.Level?

    public init(label: String, writer: JournalWriter, setting: LogLevelSetting) {
        self.label = label
        self.writer = writer
        self.setting = setting
    }

    public var logLevel: Logger.Level {
        get { override ?? setting.level }
        set { override = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        if let error = event.error { merged["error"] = "\(error)" }
        writer.enqueue(
            JournalEntry(
                level: event.level, message: event.message.description, metadata: merged, label: label,
                file: event.file, function: event.function, line: event.line))
    }
}
