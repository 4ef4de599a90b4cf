import HeapProtocol

/// One argument of a command as Redis 7's `COMMAND DOCS` describes it, read from the command's
/// `syntax` line (the same text `HELP` shows), so the table says each command's arguments once.
///
/// The syntax lines follow Redis's conventions, which this reads:
/// - `word` is a value the client chooses (`target`, `x`, `generation`); an upper-case `WORD` is a
///   literal token (`LIMIT`, `CUMULATIVE`); words joined by `|` without spaces are a choice of literals
///   (`filename|lineno|traceback`, `INCLUDE|EXCLUDE`);
/// - `[…]` is optional; `…` or `...` after an argument or a group repeats it;
/// - ` | ` with spaces separates whole alternatives (`[value | items...]`).
///
/// redis-cli 7 builds its argument hints from this (``reply``): each argument is a map with `name`,
/// `type` (`string`, `pure-token`, `oneof`, `block`), `token` for a literal, `flags` (a set of the
/// simple strings `optional` and `multiple`) and, for a choice or a group, `arguments`.
indirect enum ArgumentDoc: Equatable {
    /// A value the client chooses.
    case value(String, ArgumentFlags)
    /// A literal word.
    case token(String, ArgumentFlags)
    /// One of the alternatives.
    case oneOf([ArgumentDoc], ArgumentFlags)
    /// The arguments in order.
    case block([ArgumentDoc], ArgumentFlags)

    struct ArgumentFlags: OptionSet, Equatable {
        let rawValue: UInt8
        static let optional = ArgumentFlags(rawValue: 1 << 0)
        static let multiple = ArgumentFlags(rawValue: 1 << 1)
    }

    var flags: ArgumentFlags {
        switch self {
        case .value(_, let flags), .token(_, let flags), .oneOf(_, let flags), .block(_, let flags): flags
        }
    }

    func adding(_ extra: ArgumentFlags) -> ArgumentDoc {
        switch self {
        case .value(let name, let flags): .value(name, flags.union(extra))
        case .token(let name, let flags): .token(name, flags.union(extra))
        case .oneOf(let items, let flags): .oneOf(items, flags.union(extra))
        case .block(let items, let flags): .block(items, flags.union(extra))
        }
    }

    /// The name `COMMAND DOCS` gives it: the value's name, the token in lower case, a choice's or a
    /// group's parts joined.
    var name: String {
        switch self {
        case .value(let name, _): name
        case .token(let word, _): word.lowercased()
        case .oneOf(let items, _): items.map(\.name).joined(separator: "|")
        case .block(let items, _): items.map(\.name).joined(separator: "-")
        }
    }

    /// The argument's map in `COMMAND DOCS`.
    var reply: Reply {
        var entries: [Reply.MapEntry] = [.init("name", .bulk(name))]
        switch self {
        case .value:
            entries.append(.init("type", .bulk("string")))
        case .token(let word, _):
            entries.append(.init("type", .bulk("pure-token")))
            entries.append(.init("token", .bulk(word)))
        case .oneOf(let items, _):
            entries.append(.init("type", .bulk("oneof")))
            entries.append(.init("arguments", .array(items.map(\.reply))))
        case .block(let items, _):
            entries.append(.init("type", .bulk("block")))
            entries.append(.init("arguments", .array(items.map(\.reply))))
        }
        var flagNames: [Reply] = []
        if flags.contains(.optional) { flagNames.append(.simple("optional")) }
        if flags.contains(.multiple) { flagNames.append(.simple("multiple")) }
        if !flagNames.isEmpty { entries.append(.init("flags", .set(flagNames))) }
        return .map(entries)
    }

    /// The hint redis-cli 7 prints for it (its `cliAddArgument`): what a test compares with the syntax.
    var hint: String {
        var text: String
        switch self {
        case .value(let name, _): text = name
        case .token(let word, _): text = word
        case .oneOf(let items, _): text = items.map(\.hint).joined(separator: "|")
        case .block(let items, _): text = items.map(\.hint).joined(separator: " ")
        }
        if flags.contains(.multiple) { text += " [\(text) ...]" }
        return flags.contains(.optional) ? "[\(text)]" : text
    }

    // MARK: Reading a syntax line

    /// The arguments of `syntax` after the command's own words (`name`); a line that shows several forms
    /// (`GC GARBAGE [CURSOR c] [COUNT n] | GC GARBAGE CLEAR | …`) is one choice among them.
    static func arguments(ofSyntax syntax: String, command name: String) -> [ArgumentDoc] {
        var rest = Substring(syntax)
        if rest.hasPrefix(name) { rest = rest.dropFirst(name.count) }
        let text = rest.replacingOccurrences(of: " | " + name + " ", with: " | ")
        var reader = Reader(tokens: tokenize(text))
        return reader.sequence()
    }

    private enum Token: Equatable {
        case word(String)
        case open, close, ellipsis
        /// `|`; `spaced` when blanks surround it (a choice between whole alternatives).
        case bar(spaced: Bool)
    }

    private static func tokenize(_ text: String) -> [Token] {
        var tokens: [Token] = []
        var word = ""
        var blankBefore = true
        let characters = Array(text)
        func flush() {
            if !word.isEmpty { tokens.append(.word(word)) }
            word = ""
        }
        var index = 0
        while index < characters.count {
            let character = characters[index]
            switch character {
            case " ", "\t":
                flush()
                blankBefore = true
                index += 1
                continue
            case "[": flush(); tokens.append(.open)
            case "]": flush(); tokens.append(.close)
            case "|":
                flush()
                let blankAfter = index + 1 < characters.count && characters[index + 1] == " "
                tokens.append(.bar(spaced: blankBefore || blankAfter))
            case "…": flush(); tokens.append(.ellipsis)
            case "." where index + 2 < characters.count && characters[index + 1] == "." && characters[index + 2] == ".":
                flush()
                tokens.append(.ellipsis)
                index += 2
            default: word.append(character)
            }
            blankBefore = false
            index += 1
        }
        flush()
        return tokens
    }

    /// A recursive-descent reader of the tokens; it never fails: an unbalanced bracket ends a group.
    private struct Reader {
        let tokens: [Token]
        var position = 0

        /// Arguments up to the `]` that closes the group (or the end); alternatives separated by ` | `
        /// become one ``oneOf(_:_:)``.
        mutating func sequence() -> [ArgumentDoc] {
            var alternatives: [[ArgumentDoc]] = [[]]
            while position < tokens.count {
                let token = tokens[position]
                position += 1
                switch token {
                case .close:
                    return Self.joined(alternatives)
                case .open:
                    let inner = sequence()
                    guard !inner.isEmpty else { continue }
                    let group = inner.count == 1 ? inner[0] : .block(inner, [])
                    alternatives[alternatives.count - 1].append(group.adding(.optional))
                case .ellipsis:
                    if let last = alternatives[alternatives.count - 1].popLast() {
                        alternatives[alternatives.count - 1].append(last.adding(.multiple))
                    }
                case .bar(spaced: true):
                    alternatives.append([])
                case .bar(spaced: false):
                    // A tight choice continues the argument before it: `a|b|c`.
                    guard position < tokens.count, case .word(let next) = tokens[position],
                        let last = alternatives[alternatives.count - 1].popLast()
                    else { continue }
                    position += 1
                    let choice: [ArgumentDoc]
                    switch last {
                    case .oneOf(let items, let flags) where flags.isEmpty: choice = items + [.token(next, [])]
                    case .value(let word, let flags) where flags.isEmpty: choice = [.token(word, []), .token(next, [])]
                    default: choice = [last, .token(next, [])]
                    }
                    alternatives[alternatives.count - 1].append(.oneOf(choice, []))
                case .word(let word):
                    alternatives[alternatives.count - 1].append(
                        Self.isToken(word) ? .token(word, []) : .value(word, []))
                }
            }
            return Self.joined(alternatives)
        }

        private static func joined(_ alternatives: [[ArgumentDoc]]) -> [ArgumentDoc] {
            let alternatives = alternatives.map(Self.folded)
            guard alternatives.count > 1 else { return alternatives[0] }
            let choices = alternatives.filter { !$0.isEmpty }.map { $0.count == 1 ? $0[0] : .block($0, []) }
            return [.oneOf(choices, [])]
        }

        /// `name [name…]` is one argument that repeats, as Redis describes `DEL key [key …]`.
        private static func folded(_ items: [ArgumentDoc]) -> [ArgumentDoc] {
            var result: [ArgumentDoc] = []
            for item in items {
                if item.flags == [.optional, .multiple], let last = result.last, last.flags.isEmpty,
                    last.adding([.optional, .multiple]) == item
                {
                    result[result.count - 1] = last.adding(.multiple)
                } else {
                    result.append(item)
                }
            }
            return result
        }

        /// An upper-case word (`LIMIT`, `ALL_FRAMES`, `LIB-NAME`) is a literal.
        private static func isToken(_ word: String) -> Bool {
            word.contains(where: \.isLetter)
                && word.allSatisfy { $0.isUppercase || $0.isNumber || $0 == "_" || $0 == "-" }
        }
    }
}
