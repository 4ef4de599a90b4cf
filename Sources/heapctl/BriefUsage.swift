import ArgumentParser
import Glibc

extension ParsableCommand {
    /// Exits on a command-line mistake the short way: the error, the usage line and where the full help
    /// is, with status 64. ArgumentParser's own exit prints the whole help (83 lines for `heapctl run`
    /// without a file) under the one line that matters. Help and version requests print as usual.
    static func exitBriefly(withError error: Error, helpCommand: String) -> Never {
        let code = exitCode(for: error)
        if code == .success { exit(withError: error) }
        let usage = usageString().split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")
        Console.error("\(message(for: error))\nUsage:\n\(usage)\n  See '\(helpCommand) --help' for more.")
        Glibc.exit(code.rawValue)
    }
}
