import ArgumentParser
import Glibc
import HeapFormatting
import HeapProtocol

/// `heapctl top`: a live view of the heap, refreshed every interval, like `top` or `redis-cli --stat`.
struct TopView: LeakView {
    static let configuration = CommandConfiguration(
        commandName: "heapctl top",
        abstract: "A live view of heapd's heap: objects and bytes per type, collections, pauses, clients.",
        discussion: """
            Each frame shows INFO's figures (objects, bytes in use, clients, automatic collection and the \
            generation counts, gc.garbage, collections per generation, the last and worst pauses) and TYPES' \
            table with each type's change since the previous frame. On a terminal the screen is redrawn in \
            place and q or Ctrl-C quits; otherwise frames are printed one after another, separated by a blank \
            line. Each frame counts every object with the world stopped: on a heap of millions of objects \
            choose a longer --interval.
            """)

    @Option(name: .long, help: ArgumentHelp("Seconds between frames (default 1).", valueName: "seconds"))
    var interval: Double = 1

    @Option(name: .long, help: ArgumentHelp("Stop after N frames (default: until q or Ctrl-C).", valueName: "N"))
    var iterations: Int?

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard interval > 0, interval <= 3600 else { throw ValidationError("--interval must be between 0 and 3600 s") }
        if let iterations, iterations < 1 { throw ValidationError("--iterations must be 1 or more") }
    }

    func show(using client: ViewClient) throws(ViewFailure) {
        let screen = isatty(STDOUT_FILENO) == 1
        // Raw mode only to read q and Ctrl-C as keys; without a terminal on stdin, Ctrl-C is a signal.
        let terminal = screen && isatty(STDIN_FILENO) == 1 ? RawTerminal.enter(STDIN_FILENO) : nil
        defer { terminal?.leave() }
        var previous: [String: Int] = [:]
        var frame = 0
        while true {
            frame += 1
            let info = try Self.info(client)
            let census = try TypesView.census(client, limit: nil)
            let rows = screen ? max(Self.terminalRows() - 7, 5) : 20
            var lines = header(info, frame: frame)
            var table = TextTable(header: ["type", "objects", "change", "bytes"], rightAligned: [1, 2, 3])
            for entry in census.prefix(rows) {
                let change = entry.count - (previous[entry.name] ?? (frame == 1 ? entry.count : 0))
                table.rows.append([
                    entry.name, String(entry.count), change == 0 ? "" : change > 0 ? "+\(change)" : "\(change)",
                    String(entry.bytes),
                ])
            }
            lines += [""] + table.lines
            if census.count > rows { lines.append("(\(census.count - rows) more types)") }
            previous = Dictionary(census.map { ($0.name, $0.count) }, uniquingKeysWith: { first, _ in first })
            if screen {
                Console.write("\u{1B}[H\u{1B}[2J" + lines.joined(separator: "\r\n") + "\r\n")
            } else {
                Console.write((frame > 1 ? "\n" : "") + lines.joined(separator: "\n") + "\n")
            }
            if let iterations, frame >= iterations { return }
            if terminal != nil {
                if Self.waitForQuitKey(seconds: interval) { return }
            } else {
                usleep(UInt32(interval * 1_000_000))
            }
        }
    }

    private func header(_ info: [String: String], frame: Int) -> [String] {
        func value(_ key: String) -> String { info[key] ?? "?" }
        func field(_ key: String, _ name: String) -> Int {
            for part in (info[key] ?? "").split(separator: ",") {
                let pair = part.split(separator: "=", maxSplits: 1)
                if pair.count == 2, pair[0] == name { return Int(pair[1]) ?? 0 }
            }
            return 0
        }
        let used = Int(value("used_bytes")).map(formatBytes) ?? "?"
        let collections = (0...2).map { field("gc_gen\($0)", "collections") }
        let worst = (0...2).map { field("gc_gen\($0)", "pause_max_us") }.max() ?? 0
        let p99 = (0...2).map { field("gc_gen\($0)", "pause_p99_us") }.max() ?? 0
        let last = info["gc_last"] == nil ? "-" : "\(field("gc_last", "pause_us")) us"
        return [
            "heapd top: frame \(frame), every \(Self.seconds(interval))\(isatty(STDIN_FILENO) == 1 ? ", q quits" : "")",
            "objects \(value("objects"))  used \(used)  clients \(value("connected_clients"))",
            "gc \(value("gc_enabled") == "1" ? "on" : "OFF")  counts \(value("gc_count").split(separator: ",").joined(separator: "/"))"
                + "  garbage \(value("gc_garbage"))  collections \(value("gc_collections_total"))"
                + " (gen0 \(collections[0]), gen1 \(collections[1]), gen2 \(collections[2]))",
            "pause last \(last), worst \(worst) us, p99 \(p99) us",
        ]
    }

    /// `INFO`'s `key:value` lines as a dictionary.
    static func info(_ client: ViewClient) throws(ViewFailure) -> [String: String] {
        let reply = try client.call(["INFO"])
        guard let text = reply.text else { throw ViewClient.unexpected("INFO", reply) }
        var result: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { result[String(parts[0])] = String(parts[1]) }
        }
        return result
    }

    /// Waits up to `seconds` for a key on stdin (in raw mode); true for q, Q, Ctrl-C or Ctrl-D.
    static func waitForQuitKey(seconds: Double) -> Bool {
        let deadline = monotonicSeconds() + seconds
        while true {
            let left = deadline - monotonicSeconds()
            guard left > 0 else { return false }
            var descriptor = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, Int32(left * 1000) + 1)
            guard ready > 0 else { continue }
            var byte: UInt8 = 0
            let count = read(STDIN_FILENO, &byte, 1)
            if count <= 0 { return count == 0 }
            if [UInt8(ascii: "q"), UInt8(ascii: "Q"), 3, 4].contains(byte) { return true }
        }
    }

    static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    static func terminalRows() -> Int {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_row > 0 else { return 24 }
        return Int(size.ws_row)
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
    }
}
