import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Reading and writing snapshot files so that a client cannot use heapd to reach other files, and
/// other users cannot read what heapd wrote.
///
/// - Writes: the directory is created 0700 when heapd creates it; a file is written under a hidden
///   temporary name (clients' names never start with `.`), 0600 whatever the umask, synced, then
///   renamed over the name and the directory synced: a reader (and a crash) sees the old file or the
///   new one, and a symbolic link planted at the name is replaced, never followed.
/// - Reads: `openat` with `O_NOFOLLOW` (a symbolic link is refused, not followed out of the
///   directory) and `O_NONBLOCK` (a FIFO cannot hold the event loop waiting for a writer), then
///   `fstat` on the descriptor — never stat-then-open, which a swap between the two calls would
///   defeat — and only a regular file with one link is read (a hard link could name a file elsewhere).
extension SnapshotDirectory {
    /// Writes `data` as `name` in `directory`; replies the file's path.
    static func write(_ data: Data, named name: String, in directory: String) throws(CommandError) -> String {
        try write(named: name, in: directory) { emit throws(CommandError) in try emit([UInt8](data)) }
    }

    /// Writes the chunks `body` emits as `name` in `directory` (streamed: the file is never held whole);
    /// replies the file's path. A failed write leaves the old file, if any, and no temporary behind.
    static func write(
        named name: String, in directory: String,
        _ body: (_ emit: ([UInt8]) throws(CommandError) -> Void) throws(CommandError) -> Void
    ) throws(CommandError) -> String {
        let path = try path(of: name, in: directory)
        try createIfMissing(directory)
        let dirfd = try openDirectory(directory)
        defer { close(dirfd) }
        let temporary = ".\(name).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = openat(dirfd, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ioError("cannot create a file in \(directory)") }
        var renamed = false
        defer {
            if !renamed { unlinkat(dirfd, temporary, 0) }
        }
        do throws(CommandError) {
            // The mode O_CREAT gave is 0600 less the umask; make it exactly 0600.
            guard fchmod(fd, 0o600) == 0 else { throw ioError("cannot write \(path)") }
            try body { chunk throws(CommandError) in try writeAll(fd, chunk, path: path) }
            guard fsync(fd) == 0 else { throw ioError("cannot write \(path)") }
        } catch {
            close(fd)
            throw error
        }
        guard close(fd) == 0, renameat(dirfd, temporary, dirfd, name) == 0 else {
            throw ioError("cannot write \(path)")
        }
        renamed = true
        // The rename is durable only once the directory is: without this a crash could bring back the
        // old file (or none) although the write was reported done.
        guard fsync(dirfd) == 0 else { throw ioError("cannot sync the snapshot directory \(directory)") }
        return path
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(CommandError) {
        var done = 0
        while done < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, bytes.count - done) }
            if written < 0 {
                if errno == EINTR { continue }
                throw ioError("cannot write \(path)")
            }
            done += written
        }
    }

    /// The contents of `name` in `directory`, if it is a regular file there.
    static func read(named name: String, in directory: String) throws(CommandError) -> Data {
        let (fd, path) = try openForReading(named: name, in: directory)
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        do {
            return try handle.readToEnd() ?? Data()
        } catch {
            throw CommandError(.io, "cannot read \(path): \(error.localizedDescription)")
        }
    }

    /// Opens `name` in `directory` for reading, if it is a regular file there with one link; the caller
    /// owns (and closes) the descriptor.
    static func openForReading(named name: String, in directory: String) throws(CommandError) -> (
        fd: Int32, path: String
    ) {
        let path = try path(of: name, in: directory)
        let dirfd = try openDirectory(directory)
        defer { close(dirfd) }
        let fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ELOOP {
                throw CommandError(
                    "IO", "\(path) is a symbolic link; heapd reads only regular files in its snapshot directory")
            }
            throw ioError("cannot read \(path)")
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let error = ioError("cannot read \(path)")
            close(fd)
            throw error
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw CommandError(
                "IO", "\(path) is \(kind(of: info.st_mode)), not a regular file; heapd reads only regular files")
        }
        guard info.st_nlink == 1 else {
            close(fd)
            throw CommandError(
                "IO", "\(path) has \(info.st_nlink) hard links; heapd reads only files with one, as it writes them")
        }
        return (fd, path)
    }

    /// Creates `directory` with mode 0700 if it does not exist (its missing parents with the default
    /// mode); an existing directory keeps its mode, which is its owner's choice.
    private static func createIfMissing(_ directory: String) throws(CommandError) {
        if mkdir(directory, 0o700) == 0 {
            chmod(directory, 0o700)  // the umask may have narrowed it further
            return
        }
        switch errno {
        case EEXIST: return
        case ENOENT:
            let parent = (directory as NSString).deletingLastPathComponent
            do {
                try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            } catch {
                throw CommandError(.io, "cannot create \(parent): \(error.localizedDescription)")
            }
            guard mkdir(directory, 0o700) == 0 || errno == EEXIST else { throw ioError("cannot create \(directory)") }
            chmod(directory, 0o700)
        default:
            throw ioError("cannot create \(directory)")
        }
    }

    private static func openDirectory(_ directory: String) throws(CommandError) -> Int32 {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw ioError("cannot open the snapshot directory \(directory)") }
        return fd
    }

    private static func kind(of mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: "a FIFO"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFDIR: "a directory"
        case S_IFSOCK: "a socket"
        default: "not a file"
        }
    }

    /// `IO` with the message and errno's text.
    private static func ioError(_ message: String) -> CommandError {
        CommandError(.io, "\(message): \(String(cString: strerror(errno)))")
    }
}
