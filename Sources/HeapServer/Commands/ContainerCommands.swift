import HeapCore
import HeapProtocol

/// Container operations, named after Python's: list, dict, set and attribute access.
///
/// A key argument is read by the container's type: an integer index for a list or tuple, a literal
/// string key for a dict; an item argument is always a variable name.
enum ContainerCommands {
    static let specs: [CommandSpec] = [
        CommandSpec(
            "APPEND", arity: 2...2, syntax: "APPEND list item", summary: "list.append(item); replies the new length",
            handler: { session, args throws(CommandError) in
                try session.with(args[0]) { list throws(CommandError) in
                    try session.with(args[1]) { item throws(CommandError) in
                        try heapCall { () throws(HeapError) in
                            try session.heap.append(list, item, shard: session.shard)
                            return .integer(Int64(try session.heap.length(of: list)))
                        }
                    }
                }
            }),
        CommandSpec(
            "INSERT", arity: 3...3, syntax: "INSERT list index item", summary: "list.insert(index, item)",
            handler: { session, args throws(CommandError) in
                let index = try args.integer(1, what: "index")
                return try session.with(args[0]) { list throws(CommandError) in
                    try session.with(args[2]) { item throws(CommandError) in
                        try heapCall { () throws(HeapError) in
                            try session.heap.insert(list, at: Int(index), item, shard: session.shard)
                            return .ok
                        }
                    }
                }
            }),
        CommandSpec(
            "GETITEM", arity: 3...3, syntax: "GETITEM target container key",
            summary: "target = container[key] (index for list/tuple, string key for dict); replies repr(target)",
            handler: { session, args throws(CommandError) in
                let value = try session.with(args[1]) { container throws(CommandError) in
                    try heapCall { () throws(HeapError) -> ObjectRef in
                        switch session.heap.kind(of: container) {
                        case .list, .tuple:
                            guard let index = Int(args[2]) else {
                                throw HeapError(.type, "list indices must be integers, not '\(args[2])'")
                            }
                            return try session.heap.item(container, at: index)
                        default:
                            return try session.heap.item(container, key: args[2])
                        }
                    }
                }
                let text = session.reprText(value, maxDepth: 2)
                try session.bind(args[0], to: value)
                return .bulk(text)
            }),
        CommandSpec(
            "SETITEM", arity: 3...3, syntax: "SETITEM container key value",
            summary: "container[key] = value (index for a list, string key for a dict)",
            handler: { session, args throws(CommandError) in
                try session.with(args[0]) { container throws(CommandError) in
                    try session.with(args[2]) { value throws(CommandError) in
                        try heapCall { () throws(HeapError) -> Reply in
                            if session.heap.kind(of: container) == .list {
                                guard let index = Int(args[1]) else {
                                    throw HeapError(.type, "list indices must be integers, not '\(args[1])'")
                                }
                                try session.heap.setItem(container, at: index, value, shard: session.shard)
                            } else {
                                try session.heap.setItem(container, key: args[1], value, shard: session.shard)
                            }
                            return .ok
                        }
                    }
                }
            }),
        CommandSpec(
            "DELITEM", arity: 2...2, syntax: "DELITEM container key", summary: "del container[key]",
            handler: { session, args throws(CommandError) in
                try session.with(args[0]) { container throws(CommandError) in
                    try heapCall { () throws(HeapError) -> Reply in
                        if session.heap.kind(of: container) == .list {
                            guard let index = Int(args[1]) else {
                                throw HeapError(.type, "list indices must be integers, not '\(args[1])'")
                            }
                            try session.heap.deleteItem(container, at: index, shard: session.shard)
                        } else {
                            try session.heap.deleteItem(container, key: args[1], shard: session.shard)
                        }
                        return .ok
                    }
                }
            }),
        CommandSpec(
            "POP", arity: 2...3, syntax: "POP target list [index]",
            summary: "target = list.pop([index]); replies repr(target)",
            handler: { session, args throws(CommandError) in
                let index = args.count == 3 ? Int(try args.integer(2, what: "index")) : -1
                let value = try session.with(args[1]) { list throws(CommandError) in
                    try heapCall { () throws(HeapError) in try session.heap.pop(list, at: index) }
                }
                let text = session.reprText(value, maxDepth: 2)
                try session.bind(args[0], to: value)
                return .bulk(text)
            }),
        setCommand("ADD", "set.add(item)") { heap, set, item, shard throws(HeapError) in
            try heap.add(set, item, shard: shard)
        },
        setCommand("DISCARD", "set.discard(item)") { heap, set, item, shard throws(HeapError) in
            try heap.remove(set, item, mustExist: false, shard: shard)
        },
        setCommand("REMOVE", "set.remove(item): KEY error when absent") { heap, set, item, shard throws(HeapError) in
            try heap.remove(set, item, mustExist: true, shard: shard)
        },
        CommandSpec(
            "LEN", arity: 1...1, syntax: "LEN x", summary: "len(x)",
            handler: { session, args throws(CommandError) in
                try session.with(args[0], readOnly: true) { ref throws(CommandError) in
                    .integer(Int64(try heapCall { () throws(HeapError) in try session.heap.length(of: ref) }))
                }
            }),
        CommandSpec(
            "CLEAR", arity: 1...1, syntax: "CLEAR x", summary: "x.clear() for a list, dict, set or instance",
            handler: { session, args throws(CommandError) in
                try session.with(args[0]) { ref throws(CommandError) in
                    try heapCall { () throws(HeapError) in try session.heap.clear(ref, shard: session.shard) }
                    return .ok
                }
            }),
        CommandSpec(
            "CONTAINS", arity: 2...2, syntax: "CONTAINS container item-or-key",
            summary: "item in container (a string key for a dict or instance, a variable otherwise); replies 1 or 0",
            handler: { session, args throws(CommandError) in
                try session.with(args[0], readOnly: true) { container throws(CommandError) in
                    let heap = session.heap
                    let kind = heap.kind(of: container)
                    if kind == .dict || kind == .object {
                        return .integer(
                            try heapCall { () throws(HeapError) in try heap.contains(container, key: args[1]) } ? 1 : 0)
                    }
                    return try session.with(args[1], readOnly: true) { item throws(CommandError) in
                        .integer(try heapCall { () throws(HeapError) in try heap.contains(container, item) } ? 1 : 0)
                    }
                }
            }),
        CommandSpec(
            "GETATTR", arity: 3...3, syntax: "GETATTR target object name",
            summary: "target = object.name; replies repr(target)",
            handler: { session, args throws(CommandError) in
                let value = try session.with(args[1]) { object throws(CommandError) in
                    try heapCall { () throws(HeapError) in try session.heap.attribute(object, args[2]) }
                }
                let text = session.reprText(value, maxDepth: 2)
                try session.bind(args[0], to: value)
                return .bulk(text)
            }),
        CommandSpec(
            "SETATTR", arity: 3...3, syntax: "SETATTR object name value", summary: "object.name = value",
            handler: { session, args throws(CommandError) in
                guard Session.isIdentifier(Substring(args[1])) else {
                    throw .syntax("attribute name '\(args[1])' is not an identifier")
                }
                return try session.with(args[0]) { object throws(CommandError) in
                    try session.with(args[2]) { value throws(CommandError) in
                        try heapCall { () throws(HeapError) in
                            try session.heap.setAttribute(object, args[1], value, shard: session.shard)
                        }
                        return .ok
                    }
                }
            }),
        CommandSpec(
            "DELATTR", arity: 2...2, syntax: "DELATTR object name", summary: "del object.name",
            handler: { session, args throws(CommandError) in
                try session.with(args[0]) { object throws(CommandError) in
                    try heapCall { () throws(HeapError) in
                        try session.heap.deleteAttribute(object, args[1], shard: session.shard)
                    }
                    return .ok
                }
            }),
    ]

    private static func setCommand(
        _ name: String, _ summary: String,
        _ body: @escaping @Sendable (Heap, ObjectRef, ObjectRef, Int) throws(HeapError) -> Void
    ) -> CommandSpec {
        CommandSpec(
            name, arity: 2...2, syntax: "\(name) set item", summary: summary,
            handler: { session, args throws(CommandError) in
                try session.with(args[0]) { set throws(CommandError) in
                    try session.with(args[1]) { item throws(CommandError) in
                        try heapCall { () throws(HeapError) in try body(session.heap, set, item, session.shard) }
                        return .ok
                    }
                }
            })
    }
}
