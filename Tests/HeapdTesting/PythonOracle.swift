import Foundation
import XCTest

/// CPython as the oracle of a differential test: runs `python3` on a program or on a script of the
/// repository and returns what it printed, line by line.
///
/// A machine without python3 skips the test (`XCTSkip`) rather than failing it; a program that fails
/// fails the test with its stderr.
public enum PythonOracle {
    /// The python3 on `$PATH`, or a skip naming what is missing.
    public static func interpreter() throws -> String {
        guard let python = BuildProducts.onPath("python3") else {
            throw XCTSkip("python3 is not installed (Debian package python3)")
        }
        return python
    }

    /// Runs the repository's script at `path` (relative to the repository's root, such as
    /// `tests/tracemalloc/oracle.py`) with `arguments`, feeding it `stdin`.
    public static func runScript(
        _ path: String, _ arguments: [String] = [], stdin: String? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> [String] {
        let script = BuildProducts.repositoryRoot.appendingPathComponent(path).path
        return try run([script] + arguments, stdin: stdin, file: file, line: line)
    }

    /// Runs `program` (`python3 -c`) with `arguments`, feeding it `stdin`.
    public static func runProgram(
        _ program: String, _ arguments: [String] = [], stdin: String? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> [String] {
        try run(["-c", program] + arguments, stdin: stdin, file: file, line: line)
    }

    private static func run(
        _ arguments: [String], stdin: String?, file: StaticString, line: UInt
    ) throws -> [String] {
        let result = try ChildProcess.run(
            interpreter(), arguments, stdin: stdin.map { Data($0.utf8) }, file: file, line: line)
        XCTAssertEqual(result.status, 0, "python3 failed: \(result.stderr)", file: file, line: line)
        return result.stdout.split(separator: "\n").map(String.init)
    }
}
