import HeapCore
import Logging
import XCTest

@testable import HeapServer

/// A server state with no socket and one open session, for tests that run commands or resolve names in
/// process; the session is closed when `body` returns.
func withUnitSession(_ body: (ServerState, Session) throws -> Void) throws {
    let configuration = ServerConfiguration(
        listenAddress: .unixDomainSocket(path: "/nonexistent/heapd-units.sock"),
        heap: HeapConfiguration(maxObjects: 10_000, shardCount: 1))
    let state = ServerState(
        configuration: configuration, logger: Logger(label: "units", factory: { _ in SwiftLogNoOpLogHandler() }))
    let session = try XCTUnwrap(state.openSession())
    defer { state.closeSession(session) }
    try body(state, session)
}
