import Glibc

/// Names the calling thread as `ps -T`, `top -H` and `/proc/PID/task/*/comm` show it (at most 15
/// bytes), so an operator can tell heapd's notify and journal threads from the rest.
///
/// Writes `/proc/thread-self/comm` (what `prctl(PR_SET_NAME)` sets; prctl is variadic and cannot be
/// called from Swift, and Foundation's `Thread.name` does not reach the kernel in every build).
/// Best effort: a missing /proc leaves the name as it was.
func nameCurrentThread(_ name: String) {
    let descriptor = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return }
    defer { close(descriptor) }
    let bytes = Array(name.utf8.prefix(15))
    _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
}
