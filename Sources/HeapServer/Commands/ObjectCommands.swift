import HeapCore
import HeapProtocol

/// Creating, naming and dropping objects: `NEW`, `SET`, `DEL`.
enum ObjectCommands {
    static let specs: [CommandSpec] = [
        CommandSpec(
            "NEW", arity: 2...Int.max, syntax: "NEW target type [value | items...]",
            summary:
                "target = a new object: int N, float F, str S, bytes N|S, list/tuple/set [names...], dict, object Class, gen range N|iter x, none, bool true|false",
            handler: new),
        CommandSpec(
            "SET", arity: 2...2, syntax: "SET target source",
            summary: "target = source: bind another name to the same object (one more reference)",
            handler: { session, args throws(CommandError) in
                let ref = try session.resolve(args[1])
                try session.bind(args[0], to: ref)
                return .ok
            }),
        CommandSpec(
            "DEL", arity: 1...Int.max, syntax: "DEL name [name...]",
            summary: "del name: unbind each name, dropping its reference; replies how many",
            handler: { session, args throws(CommandError) in
                for name in args.strings where !session.isBound(name) {
                    _ = try Session.parseName(name)
                    throw .noVariable(name)
                }
                for name in args.strings { try session.unbind(name) }
                return .integer(Int64(args.count))
            }),
    ]

    static func new(_ session: Session, _ args: Arguments) throws(CommandError) -> Reply {
        let heap = session.heap
        let shard = session.shard
        let typeName = args[1].lowercased()
        let values = Array(args.strings.dropFirst(2))
        func one(_ what: String) throws(CommandError) -> String {
            guard values.count == 1 else { throw .arity("NEW \(what)") }
            return values[0]
        }
        let ref: ObjectRef
        switch typeName {
        case "none":
            guard values.isEmpty else { throw .arity("NEW none") }
            ref = .none
        case "bool":
            switch try one("bool").lowercased() {
            case "true", "1": ref = .true
            case "false", "0": ref = .false
            default: throw .syntax("bool value must be true or false")
            }
        case "int":
            let text = try one("int")
            guard let value = Int64(text) else {
                throw .syntax("int value '\(text)' is not a 64-bit integer (heapd ints are 64-bit)")
            }
            ref = try heapCall { () throws(HeapError) in try heap.makeInt(value, shard: shard) }
        case "float":
            let text = try one("float")
            guard let value = Double(text) else { throw .syntax("float value '\(text)' is not a number") }
            ref = try heapCall { () throws(HeapError) in try heap.makeFloat(value, shard: shard) }
        case "str":
            _ = try one("str")
            let bytes = args.raw[2]
            guard String(validating: bytes, as: UTF8.self) != nil else { throw .syntax("str value is not valid UTF-8") }
            ref = try heapCall { () throws(HeapError) in
                try heap.makeStr(String(decoding: bytes, as: UTF8.self), shard: shard)
            }
        case "bytes":
            if values.count == 2, values[0].uppercased() == "SIZE" || values[0].uppercased() == "DATA" {
                if values[0].uppercased() == "DATA" {
                    let bytes = args.raw[3]
                    ref = try heapCall { () throws(HeapError) in try heap.makeBytes(bytes, shard: shard) }
                } else {
                    ref = try zeroBytes(values[1], session)
                }
            } else {
                let text = try one("bytes")
                if let _ = Int(text) {
                    ref = try zeroBytes(text, session)
                } else {
                    let bytes = args.raw[2]
                    ref = try heapCall { () throws(HeapError) in try heap.makeBytes(bytes, shard: shard) }
                }
            }
        case "list", "tuple", "set":
            var items: [ObjectRef] = []
            defer { for item in items { heap.release(item, shard: shard) } }
            for name in values { items.append(try session.resolve(name)) }
            ref = try heapCall { () throws(HeapError) -> ObjectRef in
                switch typeName {
                case "list": try heap.makeList(items, shard: shard)
                case "tuple": try heap.makeTuple(items, shard: shard)
                default: try heap.makeSet(items, shard: shard)
                }
            }
        case "dict":
            guard values.isEmpty else { throw .arity("NEW dict") }
            ref = try heapCall { () throws(HeapError) in try heap.makeDict(shard: shard) }
        case "object":
            let className = try one("object")
            guard Session.isIdentifier(Substring(className)) else {
                throw .syntax("class name '\(className)' is not an identifier")
            }
            ref = try heapCall { () throws(HeapError) in try heap.makeInstance(className: className, shard: shard) }
        case "gen", "generator":
            ref = try GeneratorCommands.make(session, values)
        default:
            throw .syntax(
                "unknown type '\(args[1])' (int, float, str, bytes, list, tuple, dict, set, object, gen, none, bool)")
        }
        try session.bind(args[0], to: ref)
        return .ok
    }

    private static func zeroBytes(_ text: String, _ session: Session) throws(CommandError) -> ObjectRef {
        guard let size = Int(text), size >= 0 else { throw .syntax("bytes size '\(text)' is not a size") }
        let heap = session.heap
        return try heapCall { () throws(HeapError) in try heap.makeZeroBytes(count: size, shard: session.shard) }
    }
}
