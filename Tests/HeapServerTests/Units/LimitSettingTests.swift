import HeapdTesting
import XCTest

@testable import HeapServer

final class LimitSettingTests: XCTestCase {
    func testByteSizesTakeBinarySuffixesAndCountsDoNot() {
        XCTAssertEqual(LimitSetting.maxReply.parse("16M"), 16 << 20)
        XCTAssertEqual(LimitSetting.maxReply.parse("16mb"), 16 << 20)
        XCTAssertEqual(LimitSetting.outputLimit.parse("1GiB"), 1 << 30)
        XCTAssertEqual(LimitSetting.outputPause.parse(" 64k "), 64 << 10)
        XCTAssertEqual(LimitSetting.maxBulk.parse("1024"), 1024)
        XCTAssertNil(LimitSetting.maxClients.parse("1k"))
        XCTAssertNil(LimitSetting.maxReply.parse("-1"))
        XCTAssertNil(LimitSetting.maxReply.parse("M"))
        XCTAssertNil(LimitSetting.maxReply.parse("1.5M"))
        XCTAssertNil(LimitSetting.maxReply.parse("9999999999G"))
    }

    func testEveryLimitReadsBackWhatWasSet() {
        var configuration = ServerConfiguration(listenAddress: .unixDomainSocket(path: "/tmp/x"))
        for (index, setting) in LimitSetting.allCases.enumerated() {
            configuration.set(setting, to: 100_000 + index)
            XCTAssertEqual(setting.value(in: configuration), 100_000 + index, setting.rawValue)
        }
    }
}
