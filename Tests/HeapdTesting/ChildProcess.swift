import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// What a finished child process left behind.
public struct ProcessResult: Sendable {
    /// The exit status, or the signal number if `signaled`.
    public let status: Int32
    public let signaled: Bool
    public let stdout: String
    public let stderr: String
}

/// Starts the programs the tests need (heapd, heapctl, python3, tmux, journald, …) and never leaves one
/// behind: the one way in this package to start a process.
///
/// Children are started with `posix_spawn` and reaped with `waitpid`, not with Foundation's `Process`:
/// `Process` learns of an exit when a socket inherited by the child closes, and `tmux new-session` leaves
/// a daemon holding that socket, so its exit is never noticed. The child inherits no descriptor but its
/// three standard streams, and its signal mask and dispositions are reset. Output goes to files rather
/// than pipes: a pipe that nobody reads while the test waits for the exit fills up and blocks the child.
public enum ChildProcess {
    /// 30 s, or 120 s when the binaries are built with the address or thread sanitizer (a debug heapd
    /// under ASan runs a million-item LIST several times slower).
    public static let defaultTimeout: TimeInterval = runningUnderSanitizer ? 120 : 30

    /// Runs `executable` with `arguments` and `environment` (the test's own when nil), with `stdin` as its
    /// standard input if given (else /dev/null), and waits for it; a child still running at `timeout` is
    /// killed and the test fails. The input and output files go to `directory`, or to a temporary one
    /// that is removed before this returns.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        stdin: Data? = nil, directory: String? = nil, timeout: TimeInterval = ChildProcess.defaultTimeout,
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> ProcessResult {
        let scratch = try directory ?? makeTemporaryDirectory(tag: "run")
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: scratch) } }
        return try start(executable, arguments, environment: environment, stdin: stdin, directory: scratch)
            .wait(timeout: timeout, file: file, line: line)
    }

    /// Starts `executable` like `run` but returns at once, for children that run until stopped. Its
    /// output goes to `stdoutPath` and `stderrPath` (one file when both are the same path), by default
    /// to fresh files in `directory`, which the caller removes.
    public static func start(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        stdin: Data? = nil, directory: String, stdoutPath: String? = nil, stderrPath: String? = nil
    ) throws -> RunningChild {
        let base = directory + "/run-" + UUID().uuidString.prefix(8)
        let inPath = stdin == nil ? "/dev/null" : base + ".in"
        if let stdin {
            try stdin.write(to: URL(fileURLWithPath: inPath))
        }
        let outPath = stdoutPath ?? base + ".out"
        let errPath = stderrPath ?? base + ".err"
        let pid = try spawn(
            executable, arguments, environment: environment ?? ProcessInfo.processInfo.environment,
            stdin: inPath, stdout: outPath, stderr: errPath)
        return RunningChild(pid: pid, command: "\(executable) \(arguments)", outPath: outPath, errPath: errPath)
    }

    /// Starts the child with its standard streams opened on the given paths, every other descriptor
    /// closed, no signal blocked and the signals a daemon handles at their default action.
    private static func spawn(
        _ executable: String, _ arguments: [String], environment: [String: String],
        stdin: String, stdout: String, stderr: String
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if stderr == stdout {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        }
        for descriptor in openDescriptors() where descriptor > 2 {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv + envp {
                free(pointer)
            }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw SpawnError(executable: executable, errno: result)
        }
        return pid
    }

    public struct SpawnError: Error {
        public let executable: String
        public let errno: Int32
    }

    /// The descriptors open in this process now (glibc's `addclosefrom_np` is not visible to Swift).
    private static func openDescriptors() -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return names.compactMap { Int32($0) }
    }
}

/// A child started by ``ChildProcess/start(_:_:environment:stdin:directory:stdoutPath:stderrPath:)``,
/// reaped by ``wait(timeout:file:line:)`` or ``stop(signal:timeout:)``, and killed by `deinit` if the
/// test forgot (or failed before) either. Everything goes through its pid.
public final class RunningChild {
    public let pid: pid_t
    public let command: String
    public let outPath: String
    public let errPath: String
    private var result: ProcessResult?

    init(pid: pid_t, command: String, outPath: String, errPath: String) {
        self.pid = pid
        self.command = command
        self.outPath = outPath
        self.errPath = errPath
    }

    /// What the child has written to stdout so far.
    public var stdout: String {
        result?.stdout ?? (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    }

    /// What the child has written to stderr so far.
    public var stderr: String {
        result?.stderr ?? (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
    }

    /// Whether the child still runs (an exit found here is reaped and remembered).
    public var isRunning: Bool {
        result == nil && !reap(blocking: false)
    }

    /// Sends `signal` to the child if it still runs.
    public func send(_ signal: Int32) {
        if isRunning {
            kill(pid, signal)
        }
    }

    /// Waits up to `timeout` seconds for `text` to appear in stderr (log lines trail other signs).
    public func waitForStderr(_ text: String, timeout: Double = 5) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !stderr.contains(text) {
            if Date() > deadline {
                return false
            }
            usleep(20_000)
        }
        return true
    }

    /// Waits for the child to exit, polling so that it can be killed after `timeout` seconds (which fails
    /// the test).
    @discardableResult
    public func wait(
        timeout: TimeInterval = ChildProcess.defaultTimeout, file: StaticString = #filePath, line: UInt = #line
    ) -> ProcessResult {
        if !waitForExit(timeout: timeout) {
            XCTFail("\(command) still ran after \(timeout) s and was killed", file: file, line: line)
        }
        return result!
    }

    /// Sends `signal` and waits up to `timeout` seconds for the exit, then kills the child (SIGKILL);
    /// a child that had already exited is only reaped.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, timeout: TimeInterval = 20) -> ProcessResult {
        send(signal)
        waitForExit(timeout: timeout)
        return result!
    }

    /// Waits up to `timeout` seconds for the exit, else kills the child; returns whether it exited by
    /// itself in time.
    @discardableResult
    private func waitForExit(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !reap(blocking: false) {
            if Date() > deadline {
                kill(pid, SIGKILL)
                reap(blocking: true)
                return false
            }
            usleep(5_000)
        }
        return true
    }

    /// Reaps the child if it has exited (or, `blocking`, once it has) and records its result.
    @discardableResult
    private func reap(blocking: Bool) -> Bool {
        if result != nil {
            return true
        }
        var raw: Int32 = 0
        while true {
            let reaped = waitpid(pid, &raw, blocking ? 0 : WNOHANG)
            if reaped == pid {
                break
            }
            if reaped < 0 && errno == EINTR {
                continue
            }
            if reaped < 0 {
                // Not our child any more (reaped elsewhere): report it as gone.
                raw = -1 << 8
                break
            }
            return false
        }
        // The <sys/wait.h> macros are not imported into Swift; these are their glibc definitions.
        let signal = raw & 0x7F
        result = ProcessResult(
            status: signal == 0 ? (raw >> 8) & 0xFF : signal,
            signaled: signal != 0,
            stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
        return true
    }

    deinit {
        if result == nil {
            kill(pid, SIGKILL)
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        }
    }
}
