/// journald's rule for field names: `[A-Z0-9_]`, not starting with `_` (trusted fields) or a digit, at
/// most 64 characters. journald silently drops an entry's fields that break it, so every name heapd
/// derives from logger metadata goes through ``sanitized(_:)``.
public enum JournalFieldName {
    public static let maximumLength = 64

    /// `client_pid` → `HEAPD_CLIENT_PID`: the metadata key upper-cased under heapd's `HEAPD_` prefix
    /// (which also keeps it clear of journald's own and trusted fields), every other character `_`.
    public static func forMetadataKey(_ key: String) -> String {
        sanitized("HEAPD_" + key)
    }

    /// `name` upper-cased with each character outside `[A-Z0-9_]` turned into `_`, leading `_` and digits
    /// removed, cut at 64 characters; `HEAPD_FIELD` if nothing is left.
    public static func sanitized(_ name: String) -> String {
        let characters: [Character] = name.uppercased().unicodeScalars.map { scalar in
            switch scalar {
            case "A"..."Z", "0"..."9", "_": Character(scalar)
            default: "_"
            }
        }
        guard let start = characters.firstIndex(where: { $0 != "_" && !$0.isASCIIDigit }) else { return "HEAPD_FIELD" }
        return String(characters[start...].prefix(maximumLength))
    }

    /// Whether journald accepts `name` as it is.
    public static func isValid(_ name: String) -> Bool {
        !name.isEmpty && sanitized(name) == name && name.utf8.count <= maximumLength
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
