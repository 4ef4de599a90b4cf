import Foundation

/// Every limit an operator can set, by the one name it has as a flag (`--max-reply`) and as a key of
/// the configuration file (`max-reply = 16M`). A flag given on the command line wins over the file;
/// the file wins over the default. Limits are fixed at start (protocol.md §1 Limits lists each one
/// with its default and its error; `INFO limits` shows the values in force).
public enum LimitSetting: String, CaseIterable, Sendable {
    case maxClients = "max-clients"
    case maxLine = "max-line"
    case maxArgs = "max-args"
    case maxBulk = "max-bulk"
    case maxObjects = "max-objects"
    case maxMemory = "max-memory"
    case outputPause = "output-pause"
    case maxReply = "max-reply"
    case outputLimit = "output-limit"
    case partialRequestBudget = "partial-request-budget"
    case commandTimeLimit = "command-time-limit"

    /// Whether the value is a size in bytes (which accepts a K, M or G suffix, powers of 1024).
    public var isByteSize: Bool {
        switch self {
        case .maxLine, .maxBulk, .maxMemory, .outputPause, .maxReply, .outputLimit, .partialRequestBudget: true
        case .maxClients, .maxArgs, .maxObjects, .commandTimeLimit: false
        }
    }

    /// The unit, for help texts and errors.
    public var unit: String {
        switch self {
        case .commandTimeLimit: "milliseconds (0: none)"
        case .maxClients: "clients"
        case .maxArgs: "arguments"
        case .maxObjects: "objects"
        default: "bytes (K, M, G suffixes)"
        }
    }

    /// The value `text` states: a non-negative decimal integer, for byte sizes optionally followed by
    /// K, M or G (KiB, MiB, GiB; an optional trailing B or iB is accepted: `16M`, `16MB`, `16MiB`);
    /// nil when it is not one or does not fit.
    public func parse(_ text: String) -> Int? {
        var digits = Substring(text.trimmingCharacters(in: .whitespaces))
        var multiplier = 1
        if isByteSize {
            let lower = digits.lowercased()
            for (suffix, factor) in [("kib", 1 << 10), ("mib", 1 << 20), ("gib", 1 << 30)]
                + [("kb", 1 << 10), ("mb", 1 << 20), ("gb", 1 << 30), ("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30)]
            where lower.hasSuffix(suffix) {
                digits = digits.dropLast(suffix.count)
                multiplier = factor
                break
            }
        }
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let value = Int(digits) else {
            return nil
        }
        let (scaled, overflow) = value.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : scaled
    }

    /// The value in force in `configuration`.
    public func value(in configuration: ServerConfiguration) -> Int {
        switch self {
        case .maxClients: configuration.maxClients
        case .maxLine: configuration.protocolLimits.maxLineLength
        case .maxArgs: configuration.protocolLimits.maxArguments
        case .maxBulk: configuration.protocolLimits.maxBulkLength
        case .maxObjects: configuration.heap.maxObjects
        case .maxMemory: configuration.heap.maxMemory
        case .outputPause: configuration.connectionLimits.outputPause
        case .maxReply: configuration.connectionLimits.maxReply
        case .outputLimit: configuration.connectionLimits.outputLimit
        case .partialRequestBudget: configuration.connectionLimits.partialRequestBudget
        case .commandTimeLimit: configuration.connectionLimits.commandTimeLimitMilliseconds
        }
    }
}

extension ServerConfiguration {
    /// Sets one limit (already parsed with ``LimitSetting/parse(_:)``).
    public mutating func set(_ setting: LimitSetting, to value: Int) {
        switch setting {
        case .maxClients: maxClients = max(1, value)
        case .maxLine: protocolLimits.maxLineLength = value
        case .maxArgs: protocolLimits.maxArguments = value
        case .maxBulk: protocolLimits.maxBulkLength = value
        case .maxObjects: heap.maxObjects = value
        case .maxMemory: heap.maxMemory = max(0, value)
        case .outputPause: connectionLimits.outputPause = value
        case .maxReply: connectionLimits.maxReply = value
        case .outputLimit: connectionLimits.outputLimit = value
        case .partialRequestBudget: connectionLimits.partialRequestBudget = value
        case .commandTimeLimit: connectionLimits.commandTimeLimitMilliseconds = value
        }
    }
}
