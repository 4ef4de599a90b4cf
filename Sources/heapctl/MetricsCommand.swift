import ArgumentParser
import Glibc
import HeapClient
import HeapProtocol

/// `heapctl metrics`: heapd's `METRICS` (Prometheus's text format) printed once, or served over HTTP at
/// `/metrics` with `--listen`, so that Prometheus can scrape a heapd whose unit has no network
/// (`PrivateNetwork=`): heapctl is the exporter, heapd stays on its Unix socket.
struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heapctl metrics",
        abstract: "Print heapd's metrics in Prometheus's text format, or serve them over HTTP at /metrics.",
        discussion: """
            Without --listen, prints heapd's METRICS reply once and exits. With --listen HOST:PORT, serves \
            HTTP/1.1 on that address until interrupted: GET /metrics asks heapd anew (one short connection \
            per scrape) and answers 200 with text/plain; version=0.0.4, or 503 with the reason when heapd \
            cannot be reached or does not answer within --timeout seconds (10 when not given); any other path \
            is 404, any other method 405. The names are listed in \
            protocol.md (METRICS). Example Prometheus job: static_configs: [{targets: ['127.0.0.1:9464']}].
            """)

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Serve /metrics over HTTP at this address (such as 127.0.0.1:9464; port 0 picks a free one, "
                + "printed on stdout).", valueName: "host:port"))
    var listen: String?

    @OptionGroup var connection: ConnectionOptions

    /// `host:port` split, or a usage error.
    static func address(_ text: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port), colon != text.startIndex
        else { throw ValidationError("--listen must be HOST:PORT, such as 127.0.0.1:9464, got '\(text)'") }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }

    func validate() throws {
        if let listen { _ = try Self.address(listen) }
    }

    func execute(inheriting global: ConnectionOptions) -> ExitStatus {
        let endpoint = global.overridden(by: connection)
        guard let listen else {
            switch Self.scrape(endpoint) {
            case .success(let text):
                Console.write(text)
                return .success
            case .failure(let failure):
                Console.error(failure.message)
                return failure.status
            }
        }
        let (host, port) = try! Self.address(listen)
        // A scrape waits for heapd at most 10 s unless --timeout says otherwise (Prometheus's own default
        // scrape timeout): a stalled heapd must not queue every later scrape behind a reply forever.
        let scraping = endpoint.timeout == 0 ? Endpoint(socket: endpoint.socketPath, timeout: 10) : endpoint
        return MetricsHTTPServer.serve(host: host, port: port, endpoint: scraping)
    }

    struct ScrapeFailure: Error {
        let message: String
        let status: ExitStatus
    }

    /// One `METRICS` over a new connection.
    static func scrape(_ endpoint: Endpoint) -> Result<String, ScrapeFailure> {
        do throws(ClientError) {
            let client = try endpoint.connect()
            defer { client.close() }
            switch try client.call("METRICS") {
            case .bulk(let bytes): return .success(String(decoding: bytes, as: UTF8.self))
            case .error(let code, let message):
                return .failure(ScrapeFailure(message: "(error) \(code) \(message)", status: .errorReply))
            case let other: return .failure(ScrapeFailure(message: "unexpected reply \(other)", status: .errorReply))
            }
        } catch {
            return .failure(ScrapeFailure(message: error.description, status: .connectionFailed))
        }
    }
}
