import HeapCore
import HeapProtocol

/// Heap images: `SAVE`, `BGSAVE`, `LASTSAVE` (``HeapImageStore`` does the work; protocol.md §5 "Heap
/// images" documents them).
enum ImageCommands {
    static let specs: [CommandSpec] = [
        CommandSpec(
            "SAVE", arity: 0...1, syntax: "SAVE [name]",
            summary: "stops the world, writes a heap image into the snapshot directory, replies OK when it is on disk",
            flags: [.stopsTheWorld, .blocksOnFiles],
            outcome: { session, args throws(CommandError) in
                let (state, name) = try target(session, args)
                return .afterGate { state.images.save(name: name, state: state) }
            }),
        CommandSpec(
            "BGSAVE", arity: 0...1, syntax: "BGSAVE [name]",
            summary:
                "a heap image of this instant, copied copy-on-write while clients go on (two stops of microseconds), written in the background",
            flags: [.stopsTheWorld, .blocksOnFiles],
            outcome: { session, args throws(CommandError) in
                let (state, name) = try target(session, args)
                return .afterGate { state.images.backgroundSave(name: name, state: state) }
            }),
        CommandSpec(
            "LASTSAVE", arity: 0...0, syntax: "LASTSAVE",
            summary: "Unix time of the last successful SAVE or BGSAVE (0: none yet)",
            handler: { session, _ throws(CommandError) in .integer(Int64(session.state.images.lastSaveTime)) }),
    ]

    /// The server and the file name, checked before the command leaves the gate.
    private static func target(_ session: Session, _ args: Arguments) throws(CommandError) -> (ServerState, String) {
        let name = args.count == 1 ? args[0] : HeapImageStore.defaultName
        _ = try SnapshotDirectory.path(of: name, in: session.state.configuration.snapshotDirectory)
        return (session.state, name)
    }
}
