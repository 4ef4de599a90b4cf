extension Reply {
    /// The number of bytes ``encode(into:version:)`` appends, computed without encoding: the server
    /// checks a reply against its size limit before it copies it into the connection's output.
    public func encodedSize(_ version: ProtocolVersion) -> Int {
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
            return version == .resp3 ? 3 : 5
        case .array(let elements), .set(let elements), .push(let elements):
            var size = 1 + Self.decimalWidth(Int64(elements.count)) + 2
            for element in elements { size += element.encodedSize(version) }
            return size
        case .map(let entries):
            let count = version == .resp3 ? entries.count : 2 * entries.count
            var size = 1 + Self.decimalWidth(Int64(count)) + 2
            for entry in entries { size += entry.key.encodedSize(version) + entry.value.encodedSize(version) }
            return size
        case .double(let value):
            let length = Self.doubleText(value).utf8.count
            return version == .resp3 ? 1 + length + 2 : 1 + Self.decimalWidth(Int64(length)) + 2 + length + 2
        case .boolean:
            return 4
        }
    }

    /// The size in RESP2 wire form.
    public var encodedSize: Int { encodedSize(.resp2) }

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
