import Foundation
import XCTest

/// What a finished child process left behind.
struct ProcessResult {
    /// The exit status, or the signal number if `signaled`.
    let status: Int32
    let signaled: Bool
    let stdout: String
    let stderr: String
}

/// Runs the programs the tests need (heapctl, tmux) and never leaves one behind.
///
/// Children are started with `posix_spawn` and reaped with `waitpid`, not with Foundation's `Process`:
/// `Process` learns of an exit when a socket inherited by the child closes, and `tmux new-session` leaves
/// a daemon holding that socket, so its exit is never noticed. Output goes to files rather than pipes: a
/// pipe that nobody reads while the test waits for the exit fills up and blocks the child. A child still
/// running at the timeout is killed by its pid and the test fails.
enum ChildProcess {
    /// 30 s, or 120 s when the binaries are built with the address or thread sanitizer (a debug heapd
    /// under ASan runs a million-item LIST several times slower).
    static let defaultTimeout: TimeInterval = {
        let handle = dlopen(nil, RTLD_NOW)
        return dlsym(handle, "__asan_init") != nil || dlsym(handle, "__tsan_init") != nil ? 120 : 30
    }()

    /// Runs `executable` with `arguments` and exactly `environment`, with `stdin` as its standard input if
    /// given (else /dev/null), and waits for it. `directory` holds the input and output files.
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String],
        stdin: Data? = nil, directory: String, timeout: TimeInterval = ChildProcess.defaultTimeout,
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> ProcessResult {
        try start(executable, arguments, environment: environment, stdin: stdin, directory: directory)
            .wait(timeout: timeout, file: file, line: line)
    }

    /// Starts `executable` like `run` but returns at once, for children that run until stopped.
    static func start(
        _ executable: String, _ arguments: [String], environment: [String: String],
        stdin: Data? = nil, directory: String
    ) throws -> RunningChild {
        let base = directory + "/run-" + UUID().uuidString
        let inPath = stdin == nil ? "/dev/null" : base + ".in"
        if let stdin {
            try stdin.write(to: URL(fileURLWithPath: inPath))
        }
        let outPath = base + ".out"
        let errPath = base + ".err"
        let pid = try spawn(
            executable, arguments, environment: environment, stdin: inPath, stdout: outPath, stderr: errPath)
        return RunningChild(pid: pid, command: "\(executable) \(arguments)", outPath: outPath, errPath: errPath)
    }

    /// Starts the child with its standard streams opened on the given paths and every other descriptor
    /// closed, so it inherits nothing of the test process.
    private static func spawn(
        _ executable: String, _ arguments: [String], environment: [String: String],
        stdin: String, stdout: String, stderr: String
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        for descriptor in openDescriptors() where descriptor > 2 {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv + envp {
                free(pointer)
            }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard result == 0 else {
            throw SpawnError(executable: executable, errno: result)
        }
        return pid
    }

    struct SpawnError: Error {
        let executable: String
        let errno: Int32
    }

    /// The descriptors open in this process now (glibc's `addclosefrom_np` is not visible to Swift).
    private static func openDescriptors() -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return names.compactMap { Int32($0) }
    }

    /// The directory `swift build` put the package's executables in: the one holding the test bundle.
    static var buildDirectory: URL {
        let exe =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent()
    }

    /// `$name_BINARY` if set, else `program` from the build directory.
    static func binary(_ program: String) -> String {
        if let explicit = ProcessInfo.processInfo.environment[program.uppercased() + "_BINARY"] {
            return explicit
        }
        return buildDirectory.appendingPathComponent(program).path
    }

    /// The first `program` on `$PATH`, or `nil`.
    static func onPath(_ program: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) {
                return candidate
            }
        }
        return nil
    }

    /// Makes a fresh directory under /tmp with a short name (socket paths must fit in 107 bytes).
    static func makeTemporaryDirectory() throws -> String {
        var template = Array("/tmp/hc.XXXXXX".utf8CString)
        guard let result = mkdtemp(&template) else {
            throw CocoaError(.fileWriteUnknown)
        }
        return String(cString: result)
    }
}

/// A child started by `ChildProcess.start`, reaped by `wait` or `stop`, and killed by `deinit` if the
/// test forgot (or failed before) either.
final class RunningChild {
    let pid: pid_t
    let command: String
    let outPath: String
    let errPath: String
    private var result: ProcessResult?

    init(pid: pid_t, command: String, outPath: String, errPath: String) {
        self.pid = pid
        self.command = command
        self.outPath = outPath
        self.errPath = errPath
    }

    /// What the child has written to stdout so far.
    var stdout: String {
        (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    }

    /// Waits for the child to exit, polling so that it can be killed after `timeout` seconds (which fails
    /// the test).
    func wait(timeout: TimeInterval = 30, file: StaticString = #filePath, line: UInt = #line) -> ProcessResult {
        if let result {
            return result
        }
        let deadline = Date().addingTimeInterval(timeout)
        var raw: Int32 = 0
        while true {
            let reaped = waitpid(pid, &raw, WNOHANG)
            if reaped == pid {
                break
            }
            if reaped < 0 && errno != EINTR {
                raw = -1 << 8
                break
            }
            if Date() > deadline {
                kill(pid, SIGKILL)
                XCTFail("\(command) still ran after \(timeout) s and was killed", file: file, line: line)
                while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
                break
            }
            usleep(5_000)
        }
        // The <sys/wait.h> macros are not imported into Swift; these are their glibc definitions.
        let signal = raw & 0x7F
        let finished = ProcessResult(
            status: signal == 0 ? (raw >> 8) & 0xFF : signal,
            signaled: signal != 0,
            stdout: stdout,
            stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
        result = finished
        return finished
    }

    /// Sends `signal` and waits for the exit.
    @discardableResult
    func stop(signal: Int32 = SIGTERM) -> ProcessResult {
        if result == nil {
            kill(pid, signal)
        }
        return wait(timeout: 10)
    }

    deinit {
        if result == nil {
            kill(pid, SIGKILL)
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        }
    }
}
