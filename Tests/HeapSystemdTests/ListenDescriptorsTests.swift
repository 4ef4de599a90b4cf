import Foundation
import HeapSystemd
import XCTest

final class ListenDescriptorsTests: XCTestCase {
    let one = [ListenDescriptor(descriptor: 3, name: "heapd")]

    func testNoPassedSocketMeansBindYourOwn() throws {
        XCTAssertNil(try ListenDescriptors.select([], socketOption: nil) { _ in true })
        XCTAssertNil(try ListenDescriptors.select([], socketOption: "/tmp/x.sock") { _ in true })
    }

    func testOneListeningUnixSocketIsServed() throws {
        XCTAssertEqual(try ListenDescriptors.select(one, socketOption: nil) { _ in true }, one[0])
    }

    func testSeveralSocketsAreRefusedByName() {
        let two = one + [ListenDescriptor(descriptor: 4, name: "monitor")]
        XCTAssertThrowsError(try ListenDescriptors.select(two, socketOption: nil) { _ in true }) { error in
            let error = error as! SocketActivationError
            XCTAssertEqual(error.errnoValue, EINVAL)
            XCTAssertTrue(error.description.contains("systemd passed 2 sockets"), error.description)
            XCTAssertTrue(error.description.contains("fd 3 \"heapd\", fd 4 \"monitor\""), error.description)
            XCTAssertTrue(error.description.contains("not supported"), error.description)
        }
    }

    func testAPathAndAPassedSocketConflict() {
        XCTAssertThrowsError(try ListenDescriptors.select(one, socketOption: "/tmp/x.sock") { _ in true }) { error in
            XCTAssertTrue((error as! SocketActivationError).description.contains("use one or the other"))
        }
    }

    func testANonListeningOrNonUnixDescriptorIsRefused() {
        XCTAssertThrowsError(try ListenDescriptors.select(one, socketOption: nil) { _ in false }) { error in
            XCTAssertEqual((error as! SocketActivationError).errnoValue, ENOTSOCK)
        }
    }

    func testTheRealDescriptorCheck() throws {
        let listening = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        let datagram = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer {
            close(listening)
            close(datagram)
        }
        let directory = NSTemporaryDirectory() + "ld-\(getpid())-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = directory + "/l.sock"
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() where index < raw.count - 1 { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listening, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        XCTAssertEqual(bound, 0)
        XCTAssertFalse(ListenDescriptors.isListeningUnixStream(listening), "bound but not listening")
        XCTAssertEqual(listen(listening, 1), 0)
        XCTAssertTrue(ListenDescriptors.isListeningUnixStream(listening))
        XCTAssertFalse(ListenDescriptors.isListeningUnixStream(datagram))
        XCTAssertFalse(ListenDescriptors.isListeningUnixStream(-1))
    }
}
