import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Snapshot files read a chunk at a time (``TraceSnapshotFile`` parses the chunks), so a load holds
/// one chunk of the file, never all of it. Writing streams through ``SnapshotDirectory/write(named:in:_:)``,
/// and the descriptor read here comes from ``SnapshotDirectory/openForReading(named:in:)``: both keep
/// the snapshot directory's file rules (0600 files, no symbolic links followed, regular files only).
enum SnapshotFileStream {
    /// An open file read in chunks of `TraceSnapshotFile.chunkSize`.
    final class Reader {
        private let fd: Int32
        private let path: String
        /// The read error that ended the stream early, if any.
        private(set) var failure: CommandError?

        /// Reads the open descriptor `fd` (closed with the reader) of the file at `path`.
        init(fd: Int32, path: String) {
            self.fd = fd
            self.path = path
        }

        deinit { close(fd) }

        /// The next chunk; nil at the end of the file or after a read error (see ``failure``).
        func next() -> [UInt8]? {
            guard failure == nil else { return nil }
            var chunk = [UInt8](repeating: 0, count: TraceSnapshotFile.chunkSize)
            while true {
                let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count < 0 {
                    failure = ioError("cannot read \(path)", errno)
                    return nil
                }
                if count == 0 { return nil }
                chunk.removeLast(chunk.count - count)
                return chunk
            }
        }
    }

    private static func ioError(_ what: String, _ code: Int32) -> CommandError {
        CommandError(.io, "\(what): \(String(cString: strerror(code)))")
    }
}
