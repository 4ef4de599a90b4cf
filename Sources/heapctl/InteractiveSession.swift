import Foundation
import HeapClient
import HeapProtocol

/// The `heapd>` prompt: a line editor with history in front of one connection, so that variables
/// persist from line to line as in a Python session.
///
/// Lines go to heapd as typed, as inline requests read by heapd's own tokenizer. `quit` and `exit` end the
/// session on the client side (closing the connection releases its variables, as heapd's `QUIT` would).
/// When the connection breaks (heapd restarted), the error is shown and the next command reconnects,
/// saying so, since the new connection is a new session without the old variables.
struct InteractiveSession {
    let endpoint: Endpoint
    let renderer: ReplyRenderer

    func run() -> ExitStatus {
        guard var connection = endpoint.connectOrReport() else { return .connectionFailed }
        defer { connection.close() }
        let historyPath = History.defaultPath(environment: ProcessInfo.processInfo.environment)
        let editor = LineEditor(history: History.load(path: historyPath))
        // heapd's own command table, for Tab and hints (asked once; an old heapd without HELP gets none).
        if let help = try? connection.call(["HELP"]), case .array = help { editor.catalog = CommandCatalog(help: help) }
        while true {
            let prompt = connection.isOpen ? "heapd \(endpoint.socketPath)> " : "heapd (not connected)> "
            let line: String
            switch editor.readLine(prompt: prompt) {
            case .endOfInput: return .success
            case .interrupted: continue
            case .line(let entered): line = entered
            }
            if let opening = RepeatBlock.opening(Array(line.utf8)) {
                editor.history.add(line)
                if !connection.isOpen {
                    guard let fresh = reconnect() else { continue }
                    connection = fresh
                }
                runBlock(opening, editor: editor, connection)
                continue
            }
            guard case .command(let command) = InlineCommand.classify(Array(line.utf8)) else {
                continue
            }
            editor.history.add(line)
            if command.isQuit {
                return .success
            }
            if !connection.isOpen {
                guard let fresh = reconnect() else {
                    continue
                }
                connection = fresh
            }
            do throws(ClientError) {
                let reply = try connection.call(command)
                let rendered = renderer.render(
                    reply, command: command.name, subcommand: command.leadingWords.dropFirst().first)
                if command.name == "HELP" && renderer.mode == .human {
                    HelpListing.show(String(decoding: rendered, as: UTF8.self))
                } else {
                    Console.write(rendered)
                }
                if case .error(let code, _) = reply {
                    // The catalog read at the start knows the names: no second HELP.
                    if code == "UNKNOWN", let catalog = editor.catalog,
                        let hint = CommandSuggestion.suggest(
                            for: command.leadingWords, commands: catalog.names, views: false)
                    {
                        Console.error("did you mean '\(hint)'?")
                    }
                    continue
                }
                if EventStream.subscribes(command.leadingWords) {
                    return EventStream.follow(connection, renderer: renderer)
                }
            } catch {
                // HeapConnection closes itself after a transport error; the prompt shows it.
                Console.error(error.description)
            }
        }
    }

    /// Reads a `REPEAT` block's lines at a `... ` prompt up to its `END`, then runs it (Ctrl-C or Ctrl-D
    /// drops the block).
    private func runBlock(_ opening: Result<RepeatBlock, RepeatError>, editor: LineEditor, _ connection: HeapConnection)
    {
        guard case .success(var block) = opening else {
            if case .failure(let mistake) = opening { Console.error(mistake.description) }
            return
        }
        while true {
            guard case .line(let entered) = editor.readLine(prompt: "... ") else {
                Console.error("REPEAT dropped")
                return
            }
            editor.history.add(entered)
            do throws(RepeatError) {
                if try block.add(Array(entered.utf8)) { break }
            } catch {
                Console.error("\(error.description); REPEAT dropped")
                return
            }
        }
        do throws(ClientError) {
            _ = try block.run(connection, renderer: renderer)
        } catch {
            Console.error(error.description)
        }
    }

    /// A new connection after the old one broke, announced because it is a new session.
    private func reconnect() -> HeapConnection? {
        do throws(ClientError) {
            let connection = try endpoint.connect()
            Console.error("reconnected to heapd at \(endpoint.socketPath): a new session, earlier variables are gone")
            return connection
        } catch {
            Console.error(error.description)
            return nil
        }
    }
}
