import HeapClient
import HeapProtocol
import Testing

/// Goldens captured from `redis-cli` 7.0 on a terminal (`--no-raw`) against the same replies from Redis.
struct ReplyFormatterHumanTests {
    @Test func scalars() {
        #expect(ReplyFormatter.human(.integer(3)) == "(integer) 3")
        #expect(ReplyFormatter.human(.integer(-9)) == "(integer) -9")
        #expect(ReplyFormatter.human(.bulk("hello")) == #""hello""#)
        #expect(ReplyFormatter.human(.bulk([])) == #""""#)
        #expect(ReplyFormatter.human(.ok) == "OK")
        #expect(ReplyFormatter.human(.null) == "(nil)")
        #expect(ReplyFormatter.human(.nullArray) == "(nil)")
        #expect(ReplyFormatter.human(.error(code: "ERR", message: "X")) == "(error) ERR X")
        #expect(ReplyFormatter.human(.error(code: "WRONGTYPE", message: "")) == "(error) WRONGTYPE")
        #expect(ReplyFormatter.human(.array([])) == "(empty array)")
    }

    @Test func bulkEscapesLikeSdscatrepr() {
        #expect(ReplyFormatter.human(.bulk("a\nb\"\\\u{01}é")) == #""a\nb\"\\\x01\xc3\xa9""#)
        let controls: [UInt8] = [0x09, 0x0D, 0x07, 0x08, 0x7F, 0x80, 0x20, 0x7E, 0x00]
        #expect(ReplyFormatter.human(.bulk(controls)) == #""\t\r\a\b\x7f\x80 ~\x00""#)
    }

    @Test func nestedArrays() {
        let reply = Reply.array([
            .integer(1), .array([.integer(2), .array([.integer(3), .bulk("x")])]), .array([]), .bulk("y"),
            .simple("FINE"), .error(code: "MYERR", message: "boom"),
        ])
        let expected = """
            1) (integer) 1
            2) 1) (integer) 2
               2) 1) (integer) 3
                  2) "x"
            3) (empty array)
            4) "y"
            5) FINE
            6) (error) MYERR boom
            """
        #expect(ReplyFormatter.human(reply) == expected)
    }

    @Test func tenOrMoreElementsAreRightAligned() {
        let reply = Reply.array(
            (1...10).map { .integer(Int64($0)) } + [.array([.integer(1), .integer(2)]), .bulk("z")])
        let expected = """
             1) (integer) 1
             2) (integer) 2
             3) (integer) 3
             4) (integer) 4
             5) (integer) 5
             6) (integer) 6
             7) (integer) 7
             8) (integer) 8
             9) (integer) 9
            10) (integer) 10
            11) 1) (integer) 1
                2) (integer) 2
            12) "z"
            """
        #expect(ReplyFormatter.human(reply) == expected)
    }

    @Test func wideArraysNestedInNarrowOnes() {
        let ten = Reply.array((1...10).map { .integer(Int64($0)) })
        let reply = Reply.array([
            ten,
            .array([.bulk("a"), .array([.bulk("b"), .array([])])]),
            .array([.integer(1), .array((1...10).map { .integer(Int64($0)) } + [.array([.bulk("deep")])])]),
        ])
        let expected = """
            1)  1) (integer) 1
                2) (integer) 2
                3) (integer) 3
                4) (integer) 4
                5) (integer) 5
                6) (integer) 6
                7) (integer) 7
                8) (integer) 8
                9) (integer) 9
               10) (integer) 10
            2) 1) "a"
               2) 1) "b"
                  2) (empty array)
            3) 1) (integer) 1
               2)  1) (integer) 1
                   2) (integer) 2
                   3) (integer) 3
                   4) (integer) 4
                   5) (integer) 5
                   6) (integer) 6
                   7) (integer) 7
                   8) (integer) 8
                   9) (integer) 9
                  10) (integer) 10
                  11) 1) "deep"
            """
        #expect(ReplyFormatter.human(reply) == expected)
    }

    /// Captured from redis-cli 7.0 -3 on a terminal against heapd (`GC GET_STATS`, `COMMAND INFO ping`).
    @Test func resp3Types() {
        #expect(ReplyFormatter.human(.boolean(true)) == "(true)")
        #expect(ReplyFormatter.human(.boolean(false)) == "(false)")
        #expect(ReplyFormatter.human(.double(2.5)) == "(double) 2.5")
        let stats = Reply.array([.map([.init("collections", .integer(0)), .init("collected", .integer(0))])])
        #expect(
            ReplyFormatter.human(stats) == "1) 1# \"collections\" => (integer) 0\n   2# \"collected\" => (integer) 0")
        let info = Reply.array([.bulk("ping"), .set([.simple("readonly"), .simple("pubsub")]), .array([])])
        #expect(ReplyFormatter.human(info) == "1) \"ping\"\n2) 1~ readonly\n   2~ pubsub\n3) (empty array)")
        #expect(ReplyFormatter.human(.push([.bulk("gc-start"), .integer(0)])) == "1) \"gc-start\"\n2) (integer) 0")
    }
}
