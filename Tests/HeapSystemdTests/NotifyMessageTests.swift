import HeapSystemd
import XCTest

final class NotifyMessageTests: XCTestCase {
    func testReadyCarriesMainPIDAndCombinesWithStatusInOneDatagram() {
        let message = NotifyMessage.ready(mainPID: 42) + .status("3 objects")
        XCTAssertEqual(message.description, "READY=1\nMAINPID=42\nSTATUS=3 objects")
        XCTAssertEqual(message["MAINPID"], "42")
    }

    func testReloadingCarriesMonotonicMicroseconds() {
        XCTAssertEqual(
            NotifyMessage.reloading(monotonicMicroseconds: 123_456).description, "RELOADING=1\nMONOTONIC_USEC=123456")
    }

    func testFixedMessages() {
        XCTAssertEqual(NotifyMessage.stopping.description, "STOPPING=1")
        XCTAssertEqual(NotifyMessage.watchdog.description, "WATCHDOG=1")
        XCTAssertEqual(NotifyMessage.errno(98).description, "ERRNO=98")
    }

    func testStatusIsOneLineAndBounded() {
        XCTAssertEqual(NotifyMessage.status("a\nb\r\nc")["STATUS"], "a b c")
        let long = String(repeating: "x", count: 1000)
        XCTAssertEqual(NotifyMessage.status(long)["STATUS"]?.utf8.count, NotifyMessage.maximumStatusLength)
    }
}
