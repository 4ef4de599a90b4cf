import Glibc

/// Unbuffered writes to stdout and stderr.
///
/// heapctl writes straight to the file descriptors rather than through `print` because the line editor also
/// writes to the terminal with `write(2)`: going through stdio's buffer as well would let a reply and a
/// prompt redraw reach the terminal out of order. Replies may be binary (raw mode writes bulk strings
/// byte for byte), so the primitive takes bytes.
enum Console {
    /// Writes `bytes` to stdout in full.
    static func write(_ bytes: [UInt8]) {
        writeAll(STDOUT_FILENO, bytes)
    }

    /// Writes `text` to stdout as UTF-8.
    static func write(_ text: String) {
        writeAll(STDOUT_FILENO, Array(text.utf8))
    }

    /// Prints `message` to stderr as a `heapctl: ...` diagnostic line, so it is clear which program of a
    /// pipeline complained and stdout stays clean for replies.
    static func error(_ message: String) {
        writeAll(STDERR_FILENO, Array("heapctl: \(message)\n".utf8))
    }

    /// Writes everything, retrying after signals and short writes. Other errors are dropped: there is no
    /// better place left to report a failing stdout, and a closed pipe ends the process with SIGPIPE anyway.
    static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written > 0 {
                offset += written
            } else if written < 0 && errno == EINTR {
                continue
            } else {
                return
            }
        }
    }
}
