import Foundation
import HeapClient
import HeapProtocol
import HeapdTesting
import XCTest

/// `--version` on both binaries, and what ArgumentParser generates from heapctl's command tree: shell
/// completions that know every command and its options, `heapctl help WORD`, the manual's input.
final class VersionAndCompletionTests: HeapctlTestCase {
    private let commands = ["run", "types", "growth", "chain", "graph", "top", "doctor", "record", "events", "metrics"]

    func testBothBinariesPrintTheVersionHeapdReports() throws {
        let client = try HeapConnection(socketPath: heapd.socketPath, timeout: 10)
        defer { client.close() }
        guard case .bulk(let bytes) = try client.call("INFO", "server") else {
            return XCTFail("INFO server is not a bulk string")
        }
        let line = String(decoding: bytes, as: UTF8.self).split(separator: "\r\n").first {
            $0.hasPrefix("heapd_version:")
        }
        let version = try XCTUnwrap(line?.split(separator: ":").last.map(String.init))
        XCTAssertFalse(version.isEmpty)

        let heapctlVersion = try runHeapctl(["--version"])
        XCTAssertEqual(heapctlVersion.status, 0)
        XCTAssertEqual(heapctlVersion.stdout, version + "\n")
        let heapdVersion = try ChildProcess.run(
            BuildProducts.binary("heapd"), ["--version"], environment: heapctlEnvironment(), directory: heapd.directory)
        XCTAssertEqual(heapdVersion.status, 0)
        XCTAssertEqual(heapdVersion.stdout, version + "\n")
        // Only alone: after a command word, --version goes to heapd.
        XCTAssertEqual(try heapctl("ECHO", "--version").stdout, "--version\n")
    }

    func testBashCompletesEveryCommandAndItsOptions() throws {
        let bash = try XCTUnwrap(BuildProducts.onPath("bash"))
        let script = try runHeapctl(["--generate-completion-script", "bash"])
        XCTAssertEqual(script.status, 0)
        let scriptPath = try writeFile("heapctl.bash", script.stdout)
        // Completes the words of the line as bash would at a Tab, and prints the candidates.
        let driver = try writeFile(
            "complete.sh",
            """
            source "$1"; shift
            COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
            read -ra COMP_WORDS <<< "$COMP_LINE"
            [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
            COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
            COMPREPLY=()
            _heapctl heapctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
            printf '%s\\n' "${COMPREPLY[@]}"
            """)
        func complete(_ line: String) throws -> [String] {
            let result = try ChildProcess.run(
                bash, [driver, scriptPath, line], environment: heapctlEnvironment(), directory: heapd.directory)
            XCTAssertEqual(result.status, 0, result.stderr)
            return result.stdout.split(separator: "\n").map(String.init)
        }
        let first = Set(try complete("heapctl "))
        XCTAssertTrue(Set(commands + ["help", "--socket", "--json"]).isSubset(of: first), "\(first)")
        XCTAssertEqual(try complete("heapctl gr"), ["growth", "graph"])
        XCTAssertEqual(try complete("heapctl graph --b"), ["--backrefs"])
        XCTAssertEqual(try complete("heapctl --socket /x types --l"), ["--limit"])
        XCTAssertEqual(try complete("heapctl run --prof"), ["--profile"])
        XCTAssertEqual(try complete("heapctl run --pro"), ["--profile", "--progress"])
        XCTAssertEqual(try complete("heapctl metrics --l"), ["--listen"])
        XCTAssertEqual(try complete("heapctl --j"), ["--json"])
    }

    func testZshAndFishScriptsNameEveryCommand() throws {
        for shell in ["zsh", "fish"] {
            let script = try runHeapctl(["--generate-completion-script", shell])
            XCTAssertEqual(script.status, 0)
            for command in commands {
                XCTAssertTrue(script.stdout.contains(command), "\(shell) script lacks \(command)")
            }
            XCTAssertTrue(script.stdout.contains("backrefs"), "\(shell) script lacks graph's --backrefs")
        }
    }

    func testHelpOfACommandAndTheManualsInput() throws {
        let help = try runHeapctl(["help", "graph"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("USAGE: heapctl graph"), help.stdout)
        XCTAssertTrue(help.stdout.contains("--backrefs"), help.stdout)
        XCTAssertTrue(try runHeapctl(["--help"]).stdout.contains("SUBCOMMANDS:"))

        let dump = try runHeapctl(["--experimental-dump-help"])
        XCTAssertEqual(dump.status, 0)
        let tool = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [String: Any])
        let root = try XCTUnwrap(tool["command"] as? [String: Any])
        XCTAssertEqual(root["commandName"] as? String, "heapctl")
        let names = (root["subcommands"] as? [[String: Any]] ?? []).compactMap { $0["commandName"] as? String }
        XCTAssertEqual(Array(names.prefix(commands.count)), commands)
    }
}
