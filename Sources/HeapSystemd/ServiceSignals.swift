import Glibc

/// SIGTERM, SIGINT and SIGHUP, taken synchronously with `sigwait(3)` by heapd's main thread.
///
/// The signals are blocked before heapd starts any thread, so every thread inherits the block and
/// none can be interrupted; the main thread then takes them one at a time. Nothing is lost in a race:
/// a signal arriving during start-up stays pending until heapd is ready to act on it (a SIGTERM
/// right after `READY=1` is honoured). An asynchronous handler could not promise that: libdispatch,
/// for one, installs its handler some time after `resume()`, and a signal ignored meanwhile is gone.
public enum ServiceSignals {
    public static let handled: [Int32] = [SIGTERM, SIGINT, SIGHUP]

    /// Blocks the signals in the calling thread and every thread it starts afterwards. Call first
    /// thing in `main`, before anything starts a thread.
    public static func block() {
        var set = signalSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Waits for the next of the handled signals and returns its number.
    public static func next() -> Int32 {
        var set = signalSet()
        var received: Int32 = 0
        while sigwait(&set, &received) != 0 {}
        return received
    }

    private static func signalSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in handled { sigaddset(&set, signal) }
        return set
    }
}
