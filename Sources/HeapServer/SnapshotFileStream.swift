import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Snapshot files written and read a chunk at a time (``TraceSnapshotFile`` makes and parses the
/// chunks), so a dump or a load holds one chunk of the file, never all of it.
enum SnapshotFileStream {
    /// Writes the chunks `body` emits to a new temporary file (mode 0600) next to `path`, then renames
    /// it over `path`: a reader never sees half a file, and a failed dump leaves nothing behind.
    static func write(
        _ path: String, _ body: (_ emit: ([UInt8]) throws(CommandError) -> Void) throws(CommandError) -> Void
    ) throws(CommandError) {
        var template = Array((path + ".tmp.XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw ioError("cannot write \(path)", errno) }
        let temporary = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var renamed = false
        defer {
            if !renamed { unlink(temporary) }
        }
        do throws(CommandError) {
            try body { chunk throws(CommandError) in try writeAll(fd, chunk, path: path) }
        } catch {
            close(fd)
            throw error
        }
        guard close(fd) == 0 else { throw ioError("cannot write \(path)", errno) }
        guard rename(temporary, path) == 0 else { throw ioError("cannot write \(path)", errno) }
        renamed = true
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(CommandError) {
        var done = 0
        while done < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, bytes.count - done) }
            if written < 0 {
                if errno == EINTR { continue }
                throw ioError("cannot write \(path)", errno)
            }
            done += written
        }
    }

    /// An open file read in chunks of `TraceSnapshotFile.chunkSize`.
    final class Reader {
        private let fd: Int32
        private let path: String
        /// The read error that ended the stream early, if any.
        private(set) var failure: CommandError?

        /// Opens `path` for reading; `IO` when it cannot.
        init(_ path: String) throws(CommandError) {
            fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw ioError("cannot read \(path)", errno) }
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
        CommandError("IO", "\(what): \(String(cString: strerror(code)))")
    }
}
