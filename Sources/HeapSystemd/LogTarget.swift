import Glibc

/// Where heapd's log goes: `journal` (structured entries, ``JournalLogHandler``), `stderr` (text
/// lines), or `auto` — the journal exactly when stderr already is the journal.
///
/// systemd starts a service whose output goes to the journal with `JOURNAL_STREAM=<device>:<inode>` of
/// that stream; when stderr's `fstat(2)` matches, stderr is journald's and native entries are better
/// (fields, priorities). A mismatch means stderr was redirected since (a child of the service, a
/// shell), and text stays right.
public enum LogTarget: String, CaseIterable, Sendable {
    case auto
    case journal
    case stderr

    /// `auto` resolved against `JOURNAL_STREAM` and stderr's identity.
    public func resolved(journalStream: String?, standardError: FileIdentity?) -> LogTarget {
        guard self == .auto else { return self }
        guard let journalStream, let stream = FileIdentity(journalStream: journalStream),
            let standardError, stream == standardError
        else { return .stderr }
        return .journal
    }
}

/// A file's device and inode: what `JOURNAL_STREAM` names and what `fstat(2)` returns.
public struct FileIdentity: Sendable, Equatable {
    public let device: UInt64
    public let inode: UInt64

    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    /// Parses `JOURNAL_STREAM`'s `<device>:<inode>` (both decimal); nil when malformed.
    public init?(journalStream: String) {
        let parts = journalStream.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return nil }
        self.init(device: device, inode: inode)
    }

    /// The identity of the open file `descriptor`, nil when `fstat` fails (closed descriptor).
    public static func of(descriptor: Int32) -> FileIdentity? {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return nil }
        return FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }
}
