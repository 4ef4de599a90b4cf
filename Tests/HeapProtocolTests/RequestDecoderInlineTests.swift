import HeapProtocol
import Testing

struct RequestDecoderInlineTests {
    @Test func plainLines() {
        #expect(decodeEvents("PING\r\n") == [.request("PING")])
        #expect(decodeEvents("PING\n") == [.request("PING")])
        #expect(decodeEvents("set k v\n") == [.request("set", "k", "v")])
        #expect(decodeEvents("  set \t k   v \t \r\n") == [.request("set", "k", "v")])
        #expect(decodeEvents("SET k v\nGET k\r\n") == [.request("SET", "k", "v"), .request("GET", "k")])
    }

    @Test func blankLinesAreSkipped() {
        #expect(decodeEvents("\n\r\n \t \r\n\nPING\n") == [.request("PING")])
        #expect(decodeEvents("\r\n") == [])
    }

    @Test func incompleteLineWaits() {
        #expect(decodeEvents("PING") == [])
        #expect(decodeEvents("PING\r") == [])
    }

    @Test func doubleQuotes() {
        #expect(decodeEvents(#"set k "hello world""# + "\n") == [.request("set", "k", "hello world")])
        #expect(decodeEvents(#"echo "a\"b\\c\n\r\t\a\b""# + "\n") == [.request("echo", "a\"b\\c\n\r\t\u{07}\u{08}")])
        #expect(decodeEvents(#"echo "" x"# + "\n") == [.request("echo", "", "x")])
        #expect(decodeEvents("\"a\"\t\"b\"\n") == [.request("a", "b")])
    }

    @Test func hexEscapesAreBinary() {
        let events = decodeEvents(#"echo "\x41\x00\xfF""# + "\n")
        #expect(events == [.request(Request(arguments: [Array("echo".utf8), [0x41, 0x00, 0xFF]]))])
    }

    @Test func singleQuotes() {
        #expect(decodeEvents(#"echo 'it\'s'"# + "\n") == [.request("echo", "it's")])
        #expect(decodeEvents(#"echo 'a\nb "c"'"# + "\n") == [.request("echo", #"a\nb "c""#)])
        #expect(decodeEvents("echo ''\n") == [.request("echo", "")])
    }

    @Test func quoteMayStartMidWordLikeRedis() {
        #expect(decodeEvents(#"set k a"b c""# + "\n") == [.request("set", "k", "ab c")])
    }

    @Test func closingQuoteMustEndTheArgument() {
        #expect(decodeEvents(#""a"b"# + "\n") == [.failure(.textAfterClosingQuote)])
        #expect(decodeEvents("'a'b\n") == [.failure(.textAfterClosingQuote)])
    }

    @Test func unbalancedQuotes() {
        #expect(decodeEvents(#"set k "abc"# + "\n") == [.failure(.unbalancedQuotes)])
        #expect(decodeEvents("set k 'abc\r\n") == [.failure(.unbalancedQuotes)])
        #expect(decodeEvents(#"set k "abc\"# + "\n") == [.failure(.unbalancedQuotes)])
    }

    @Test func invalidEscapes() {
        #expect(decodeEvents(#"echo "\q""# + "\n") == [.failure(.invalidEscape)])
        #expect(decodeEvents(#"echo "\x4g""# + "\n") == [.failure(.invalidEscape)])
        #expect(decodeEvents(#"echo "\x4""# + "\n") == [.failure(.invalidEscape)])
    }

    @Test func syntaxErrorsKeepTheConnectionUsable() {
        let events = decodeEvents("echo \"oops\nPING\n")
        #expect(events == [.failure(.unbalancedQuotes), .request("PING")])
        #expect(!ProtocolError.unbalancedQuotes.closesConnection)
    }

    @Test func carriageReturnInsideALineIsData() {
        // Only spaces and tabs separate arguments; a stray `\r` before `\r\n` belongs to the last argument.
        #expect(decodeEvents("get k\r\r\n") == [.request("get", "k\r")])
    }

    @Test func binaryAndNulBytesAreArguments() {
        let events = decodeEvents([[0x00, 0xFF, 0x20, 0xC3, 0x0A]])
        #expect(events == [.request(Request(arguments: [[0x00, 0xFF], [0xC3]]))])
    }

    @Test func inlineAndMultibulkMix() {
        let events = decodeEvents("PING\n*2\r\n$4\r\nECHO\r\n$1\r\nx\r\nECHO y\n")
        #expect(events == [.request("PING"), .request("ECHO", "x"), .request("ECHO", "y")])
    }

    @Test func lineStartingWithBlankThenStarIsInline() {
        #expect(decodeEvents(" *1\n") == [.request("*1")])
    }
}
