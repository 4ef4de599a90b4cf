import Foundation
import HeapCore
import HeapProtocol
import XCTest

@testable import HeapServer

/// One vocabulary of error codes: protocol.md §4, ``ErrorCode/all``, the core's ``HeapError/Code``s and
/// the codes the decoder and the commands send are the same words.
final class ErrorCodeVocabularyTests: XCTestCase {
    /// The codes in protocol.md's §4 table, in order.
    private func documentedCodes() throws -> [String] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("protocol.md"), encoding: .utf8)
        let section = try XCTUnwrap(text.components(separatedBy: "## 4. Error codes").dropFirst().first)
            .components(separatedBy: "## 5.")[0]
        return section.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("| `") else { return nil }
            return String(line.dropFirst(3).prefix { $0 != "`" })
        }
    }

    func testProtocolDocumentsExactlyTheVocabulary() throws {
        XCTAssertEqual(try documentedCodes(), ErrorCode.all.map(\.rawValue))
    }

    func testTheCoresCodesAreWordsOfTheVocabulary() {
        let core: [HeapError.Code] = [
            .noObject, .wrongType, .index, .key, .type, .value, .limit, .state, .cancelled,
        ]
        for code in core {
            XCTAssertTrue(ErrorCode.all.contains(ErrorCode(rawValue: code.rawValue)), code.rawValue)
        }
        XCTAssertEqual(CommandError(HeapError(.noObject, "gone")).code, .noObject)
    }

    func testTheDecodersAndTheCommandsCodesAreInTheVocabulary() {
        let decoder: [ProtocolError] = [.lineTooLong(limit: 1), .unbalancedQuotes, .expectedCRLF]
        XCTAssertEqual(decoder.map(\.code), [.limit, .syntax, .proto])
        let commands: [CommandError] = [
            .noVariable("x"), .syntax("s"), .arity("GET"), .unknown("X"), .denied("d"), .limit("l"),
        ]
        XCTAssertEqual(
            commands.map(\.code), [.noVariable, .syntax, .arguments, .unknown, .denied, .limit])
        XCTAssertEqual(CommandError.limit("l").reply, .error(code: "LIMIT", message: "l"), "same bytes on the wire")
        XCTAssertEqual(Reply.ok.errorCode, nil)
    }
}
