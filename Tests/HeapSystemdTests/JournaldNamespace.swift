import Foundation
import HeapdTesting
import XCTest

/// A real `systemd-journald`, started by the test as a namespace instance (`systemd-journald NAME`) so
/// it shares nothing with a journal the machine may run, and heapd's way to reach it.
///
/// `sd_journal_sendv` always writes to `/run/systemd/journal/socket`; heapd is therefore started in
/// its own mount namespace (`unshare -m`) where that directory is the instance's
/// `/run/systemd/journal.NAME`. The wrapper execs heapd in place, so the pid the test holds is heapd's
/// and `_PID=` finds its entries. Everything is stopped by pid and removed at tear-down.
final class JournaldNamespace {
    static let journald = "/lib/systemd/systemd-journald"
    let name: String
    let process: RunningChild
    private let directory: String

    /// Starts the instance, or throws `XCTSkip` naming what this machine lacks.
    init(test: SystemdTestCase, directory: String) throws {
        guard getuid() == 0 else { throw XCTSkip("a private journald and a mount namespace need root") }
        guard FileManager.default.isExecutableFile(atPath: Self.journald) else {
            throw XCTSkip("\(Self.journald) not installed (Debian package systemd)")
        }
        guard
            let machineID = try? String(contentsOfFile: "/etc/machine-id", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines), !machineID.isEmpty
        else { throw XCTSkip("/etc/machine-id missing: journald cannot name its files") }
        guard Self.run("/usr/bin/unshare", ["-m", "--propagation", "private", "/bin/true"]) == 0 else {
            throw XCTSkip("unshare -m is not permitted here (no CAP_SYS_ADMIN in this container)")
        }
        name = "heapdtest\(getpid())x\(UInt32.random(in: 0...UInt32.max))"
        self.directory = directory
        let name = name
        test.onTearDown {
            for path in [
                "/var/log/journal/\(machineID).\(name)", "/run/log/journal/\(machineID).\(name)",
                "/run/systemd/journal.\(name)",
            ] {
                try? FileManager.default.removeItem(atPath: path)
            }
        }
        process = try test.start(Self.journald, [name], directory: directory)
        test.onTearDown { [process] in process.stop(signal: SIGTERM, timeout: 10) }
        let socket = "/run/systemd/journal.\(name)/socket"
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: socket) {
            guard process.isRunning, Date() < deadline else {
                throw XCTSkip("systemd-journald \(name) did not start here: \(process.stderr)")
            }
            usleep(20_000)
        }
    }

    /// The command that runs `arguments` (heapd and its flags) with this journald as the journal.
    func wrapped(_ arguments: [String]) -> (executable: String, arguments: [String]) {
        let bind = directory + "/journal-bind"
        let script = """
            set -e
            mkdir -p '\(bind)'
            mount --bind '/run/systemd/journal.\(name)' '\(bind)'
            mount -t tmpfs tmpfs /run/systemd
            mkdir /run/systemd/journal
            mount --bind '\(bind)' /run/systemd/journal
            exec "$@"
            """
        return ("/usr/bin/unshare", ["-m", "--propagation", "private", "/bin/sh", "-c", script, "sh"] + arguments)
    }

    /// The entries `journalctl --namespace` returns for `matches` (`FIELD=value`), as JSON objects.
    func entries(_ matches: [String]) -> [[String: Any]] {
        let arguments = ["--namespace=\(name)", "-o", "json", "--all", "--no-pager"] + matches
        guard let result = try? ChildProcess.run("/usr/bin/journalctl", arguments) else { return [] }
        return result.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// Polls ``entries(_:)`` until `satisfied` holds or `timeout` seconds pass; returns the last read.
    func waitForEntries(
        _ matches: [String], timeout: Double = 10, until satisfied: ([[String: Any]]) -> Bool
    ) -> [[String: Any]] {
        let deadline = Date().addingTimeInterval(timeout)
        var found = entries(matches)
        while !satisfied(found) && Date() < deadline {
            usleep(100_000)
            found = entries(matches)
        }
        return found
    }

    static func run(_ executable: String, _ arguments: [String]) -> Int32 {
        (try? ChildProcess.run(executable, arguments).status) ?? -1
    }
}
