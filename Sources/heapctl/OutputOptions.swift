import ArgumentParser

/// `--json`, `--raw` and `--no-raw`: the reply format, when the default (decided by what stdout is)
/// is not wanted.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print each reply as one line of JSON.")
    var json = false

    /// `--raw` / `--no-raw` as in `redis-cli`; `nil` when neither was given.
    @Flag(
        name: .long, inversion: .prefixedNo,
        help: "Print replies raw (the default when stdout is not a terminal), or for people with --no-raw.")
    var raw: Bool?

    func validate() throws {
        if json && raw != nil {
            throw ValidationError("--json cannot be combined with --raw or --no-raw")
        }
    }

    /// The chosen mode; without a flag, `fallback`.
    func mode(fallback: OutputMode) -> OutputMode {
        if json {
            return .json
        }
        switch raw {
        case true?: return .raw
        case false?: return .human
        case nil: return fallback
        }
    }
}
