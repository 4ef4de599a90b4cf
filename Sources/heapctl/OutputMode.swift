/// How replies are printed.
enum OutputMode {
    /// For people: `ReplyFormatter.human`, as `redis-cli` prints on a terminal.
    case human
    /// For pipelines: `ReplyFormatter.rawBytes`, values bare, as `redis-cli` prints into a pipe.
    case raw
    /// For programs: one compact JSON value per reply (`ReplyFormatter.json`).
    case json
}
