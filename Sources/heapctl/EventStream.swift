import HeapClient
import HeapProtocol

/// What heapctl does after `GC SUBSCRIBE`: print the events heapd pushes, until Ctrl-C.
///
/// A subscribed connection (heapd's `gc.callbacks`, modelled on Redis's pub/sub mode) receives pushed
/// arrays at any time, so replies no longer answer commands one to one: a command sent now would be
/// paired with whatever event came first, and every later reply would be off by one. So, like
/// `redis-cli` after `SUBSCRIBE`, heapctl stops sending and only prints, in the chosen output format.
/// Ctrl-C ends heapctl (the terminal is in normal mode here, so it is an ordinary SIGINT).
enum EventStream {
    /// Whether a command named by these first words (upper case) subscribes.
    static func subscribes(_ words: [String]) -> Bool {
        words.count >= 2 && words[0] == "GC" && words[1] == "SUBSCRIBE"
    }

    /// Prints pushed events until the connection ends; returns the status to exit with.
    static func follow(_ connection: HeapConnection, renderer: ReplyRenderer) -> ExitStatus {
        if renderer.mode == .human {
            Console.write("Reading events... (press Ctrl-C to quit)\n")
        }
        while true {
            do throws(ClientError) {
                let event = try connection.readReply()
                // --json: one object per event, with named fields (protocol.md, GC SUBSCRIBE).
                if renderer.mode == .json, let object = ReplyRenderer.eventJSON(event) {
                    Console.write(object.text + "\n")
                } else {
                    Console.write(renderer.render(event, command: nil))
                }
            } catch {
                Console.error(error.description)
                return .connectionFailed
            }
        }
    }
}
