import Glibc

/// Reads lines from a file descriptor (a script file, or stdin when it is a pipe), one at a time.
///
/// Lines are handed out as soon as they are complete rather than after reading the whole input, so that
/// `producer | heapctl` runs each command as it arrives. Bytes stay bytes: a script may hold binary
/// arguments in `"\xHH"` escapes or raw, and both must reach heapd unchanged.
final class LineReader {
    private let descriptor: Int32
    private var buffer: [UInt8] = []
    /// Where the next line starts; bytes before it were handed out already.
    private var start = 0
    /// Where the search for the next newline resumes: bytes before it hold none, so a long line is scanned
    /// once, not once per read.
    private var scanned = 0
    private var atEnd = false
    private var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    /// The `errno` of a failed `read`, after which the reader acts as if the input had ended.
    private(set) var readError: Int32?

    /// Reads from `descriptor`, which the caller keeps open while reading and closes afterwards.
    init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    /// The next line without its `\n` (and without a `\r` before it, so CRLF files work), or `nil` at the
    /// end of the input. A last line without a newline is still returned.
    func next() -> [UInt8]? {
        while true {
            if let newline = buffer[scanned...].firstIndex(of: UInt8(ascii: "\n")) {
                return take(upTo: newline, skipping: 1)
            }
            if atEnd {
                return start < buffer.count ? take(upTo: buffer.count, skipping: 0) : nil
            }
            scanned = buffer.count
            fill()
        }
    }

    /// Hands out the bytes from `start` to `end`, minus a final `\r`, and moves past them and `skipping`
    /// more bytes (the newline).
    private func take(upTo end: Int, skipping terminator: Int) -> [UInt8] {
        var line = Array(buffer[start..<end])
        start = end + terminator
        scanned = start
        if line.last == UInt8(ascii: "\r") {
            line.removeLast()
        }
        return line
    }

    /// Appends one `read` worth of input, first dropping the lines already handed out.
    private func fill() {
        buffer.removeSubrange(..<start)
        scanned -= start
        start = 0
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                buffer += chunk[..<count]
                return
            }
            if count < 0 && errno == EINTR {
                continue
            }
            if count < 0 {
                readError = errno
            }
            atEnd = true
            return
        }
    }
}
