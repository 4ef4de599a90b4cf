extension Request {
    /// Appends this request in RESP multibulk form (`*N\r\n$len\r\n<bytes>\r\n...`).
    ///
    /// Clients always send multibulk rather than inline text because it is binary-safe and needs no quoting.
    public func encode(into buffer: inout [UInt8]) {
        buffer.append(ASCII.asterisk)
        buffer.appendDecimal(arguments.count)
        buffer.appendCRLF()
        for argument in arguments {
            buffer.append(ASCII.dollar)
            buffer.appendDecimal(argument.count)
            buffer.appendCRLF()
            buffer.append(contentsOf: argument)
            buffer.appendCRLF()
        }
    }

    /// This request in RESP multibulk form.
    public var encoded: [UInt8] {
        var buffer: [UInt8] = []
        encode(into: &buffer)
        return buffer
    }
}
