import HeapServer
import Logging

/// One journal entry as `FIELD=value` strings, built from a swift-log event with no I/O, so its fields
/// are tested without journald.
///
/// Fields: `MESSAGE`, `PRIORITY` (syslog level from the log level), `SYSLOG_IDENTIFIER=heapd`,
/// `CODE_FILE`, `CODE_LINE`, `CODE_FUNC` (the C macro that adds them is invisible to Swift),
/// `MESSAGE_ID` when the metadata names an event kind listed in ``JournalMessageID``, and every
/// metadata entry as an upper-case `HEAPD_…` field (``JournalFieldName``).
public struct JournalEntry: Sendable, Equatable {
    public private(set) var fields: [String]

    public init(fields: [String]) {
        self.fields = fields
    }

    public static let syslogIdentifier = "heapd"

    /// The entry for one log event: `metadata` is the logger's merged with the event's own.
    public init(
        level: Logger.Level, message: String, metadata: Logger.Metadata, label: String, file: String,
        function: String, line: UInt
    ) {
        var fields = [
            "MESSAGE=\(message)",
            "PRIORITY=\(Self.priority(level))",
            "SYSLOG_IDENTIFIER=\(Self.syslogIdentifier)",
            "CODE_FILE=\(file)",
            "CODE_LINE=\(line)",
            "CODE_FUNC=\(function)",
        ]
        if let event = metadata[ServerLogEvent.metadataKey], let id = JournalMessageID.byEvent["\(event)"] {
            fields.append("MESSAGE_ID=\(id)")
        }
        if label != Self.syslogIdentifier {
            fields.append("HEAPD_LOGGER=\(label)")
        }
        for key in metadata.keys.sorted() {
            fields.append("\(JournalFieldName.forMetadataKey(key))=\(Self.text(metadata[key]!))")
        }
        self.fields = fields
    }

    /// syslog(3) priorities: swift-log's seven levels onto journald's eight (trace and debug share 7).
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// The value of `field`, if the entry has it.
    public subscript(field: String) -> String? {
        let prefix = field + "="
        return fields.last { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }

    private static func text(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let string): string
        case .stringConvertible(let convertible): convertible.description
        default: value.description
        }
    }
}
