import Foundation
import HeapClient
import HeapProtocol

/// Turns a reply into the exact bytes heapctl prints for it, final newline included.
///
/// The formats themselves are `ReplyFormatter`'s (shared with every other client, byte-compatible with
/// `redis-cli`); this type only adds what a command-line tool decides: the newline, and which commands
/// read better as prose.
struct ReplyRenderer {
    let mode: OutputMode

    /// Commands whose successful reply is text meant to be read as is: `INFO`'s `key:value` lines,
    /// `DOCTOR`'s report and `HELP`'s list. `redis-cli` prints `INFO` raw even on a terminal for the same
    /// reason: quoted, it would be one long line full of `\r\n`.
    static let proseCommands: Set<String> = ["INFO", "HELP", "DOCTOR"]

    /// The bytes to print for `reply`, which answered the command named `command` (upper case), if known.
    /// `subcommand` is the second word (upper case) where it decides the form: `TRACEMALLOC SNAPSHOTS` and
    /// `GC SUBSCRIBE` have named fields in JSON.
    func render(_ reply: Reply, command: String?, subcommand: String? = nil) -> [UInt8] {
        switch mode {
        case .json:
            if command == "INFO", case .bulk(let bytes) = reply {
                return Array(Self.infoJSON(String(decoding: bytes, as: UTF8.self)).text.utf8) + [UInt8(ascii: "\n")]
            }
            if command == "SIZEOF", let sizes = Self.pairsJSON(reply) {
                return Array(sizes.text.utf8) + [UInt8(ascii: "\n")]
            }
            if command == "TRACEMALLOC", subcommand == "SNAPSHOTS", let listing = Self.snapshotsJSON(reply) {
                return Array(listing.text.utf8) + [UInt8(ascii: "\n")]
            }
            if command == "GC", subcommand == "SUBSCRIBE" || subcommand == "UNSUBSCRIBE",
                let event = Self.eventJSON(reply)
            {
                return Array(event.text.utf8) + [UInt8(ascii: "\n")]
            }
            return Array(ReplyFormatter.json(reply).utf8) + [UInt8(ascii: "\n")]
        case .raw:
            return ReplyFormatter.rawBytes(reply) + [UInt8(ascii: "\n")]
        case .human:
            if command == "HELP", let grouped = HelpListing.grouped(reply) {
                return Array(grouped.utf8)
            }
            if let command, Self.proseCommands.contains(command), let text = Self.prose(reply) {
                return text
            }
            return Array(ReplyFormatter.human(reply).utf8) + [UInt8(ascii: "\n")]
        }
    }

    /// `reply` as plain lines ending in one `\n`, or `nil` when it is an error or empty (those read better
    /// in the human form, `(error) ...` or `(nil)`). `\r\n` becomes `\n`: heapd ends `INFO` lines the
    /// Redis way, and a stray `\r` only gets in the way of people copying the output into files.
    static func prose(_ reply: Reply) -> [UInt8]? {
        if case .error = reply {
            return nil
        }
        var text: [UInt8] = []
        for byte in ReplyFormatter.rawBytes(reply) {
            if byte == UInt8(ascii: "\n"), text.last == UInt8(ascii: "\r") {
                text.removeLast()
            }
            text.append(byte)
        }
        while text.last == UInt8(ascii: "\n") {
            text.removeLast()
        }
        guard !text.isEmpty else {
            return nil
        }
        return text + [UInt8(ascii: "\n")]
    }

    /// `INFO`'s `# Section` and `key:value` lines as named fields: `{"server": {"heapd_version": "0.1.0",
    /// …}, …}`, integers as numbers, the rest as strings, in heapd's order.
    static func infoJSON(_ text: String) -> JSONValue {
        var sections: [(String, [(String, JSONValue)])] = []
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("# ") {
                sections.append((line.dropFirst(2).lowercased(), []))
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            if sections.isEmpty { sections.append(("info", [])) }
            let key = String(line[..<colon])
            let value = String(line[line.index(after: colon)...])
            let parsed: JSONValue = Int(value).map { JSONValue.int($0) } ?? JSONValue.string(value)
            sections[sections.count - 1].1.append((key, parsed))
        }
        let fields: [(String, JSONValue)] = sections.map { section in (section.0, JSONValue.object(section.1)) }
        return JSONValue.object(fields)
    }

    /// `TRACEMALLOC SNAPSHOTS`' rows as objects: `[{"number": 1, "traces": 12, "bytes": 4096,
    /// "traceback_limit": 1, "origin": "taken"}, …]`; nil for any other shape (an error).
    static func snapshotsJSON(_ reply: Reply) -> JSONValue? {
        guard case .array(let rows) = reply else { return nil }
        let names = ["number", "traces", "bytes", "traceback_limit", "origin"]
        var objects: [JSONValue] = []
        for row in rows {
            guard case .array(let fields) = row, fields.count == names.count else { return nil }
            objects.append(.object(zip(names, fields.map(scalar)).map { ($0, $1) }))
        }
        return .array(objects)
    }

    /// A flat array of names and values (`SIZEOF`'s `["python", 88, "heapd", 48]`) as one object,
    /// `{"python": 88, "heapd": 48}`; nil for any other shape.
    static func pairsJSON(_ reply: Reply) -> JSONValue? {
        guard case .array(let items) = reply, !items.isEmpty, items.count % 2 == 0 else { return nil }
        var fields: [(String, JSONValue)] = []
        for index in stride(from: 0, to: items.count, by: 2) {
            guard case .bulk(let name) = items[index] else { return nil }
            fields.append((String(decoding: name, as: UTF8.self), scalar(items[index + 1])))
        }
        return .object(fields)
    }

    /// The field names of each event `GC SUBSCRIBE` pushes (protocol.md), after its name.
    static let eventFields: [String: [String]] = [
        "subscribe": ["channel", "subscribers"], "unsubscribe": ["channel", "subscribers"],
        "gc-start": ["generation"], "gc-stop": ["generation", "collected", "uncollectable", "pause_us"],
        "finalizer": ["object", "type"], "weakref-cleared": ["weakref", "target"],
    ]

    /// A pushed event as one object with named fields, `{"event": "gc-stop", "generation": 0,
    /// "collected": 2, …}`; nil when it is not an event heapd documents.
    static func eventJSON(_ reply: Reply) -> JSONValue? {
        guard case .array(let items) = reply, let first = items.first, case .string(let name) = scalar(first),
            let names = eventFields[name], items.count == names.count + 1
        else { return nil }
        return .object([("event", .string(name))] + zip(names, items.dropFirst().map(scalar)).map { ($0, $1) })
    }

    /// An integer or a string as JSON.
    private static func scalar(_ reply: Reply) -> JSONValue {
        switch reply {
        case .integer(let value): .int(Int(value))
        case .bulk(let bytes): .string(String(decoding: bytes, as: UTF8.self))
        case .simple(let text): .string(text)
        default: .string(ReplyFormatter.json(reply))
        }
    }
}
