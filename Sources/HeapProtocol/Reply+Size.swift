extension Reply {
    /// The number of bytes ``encode(into:)`` appends, computed without encoding: the server checks a
    /// reply against its size limit before it copies it into the connection's output.
    public var encodedSize: Int {
        switch self {
        case .simple(let text):
            return 1 + text.utf8.count + 2
        case .error(let code, let message):
            let separator = !code.isEmpty && !message.isEmpty ? 1 : 0
            return 1 + code.utf8.count + separator + message.utf8.count + 2
        case .integer(let value):
            return 1 + Self.decimalWidth(value) + 2
        case .bulk(let bytes):
            return 1 + Self.decimalWidth(Int64(bytes.count)) + 2 + bytes.count + 2
        case .null, .nullArray:
            return 5
        case .array(let elements):
            var size = 1 + Self.decimalWidth(Int64(elements.count)) + 2
            for element in elements { size += element.encodedSize }
            return size
        }
    }

    /// Characters of `value` in decimal, with its sign.
    static func decimalWidth(_ value: Int64) -> Int {
        var width = value < 0 ? 2 : 1
        var rest = value.magnitude
        while rest >= 10 {
            rest /= 10
            width += 1
        }
        return width
    }
}
