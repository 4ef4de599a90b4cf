extension Request {
    /// Appends this request in RESP multibulk form (`*N\r\n$len\r\n<bytes>\r\n...`).
    ///
    /// Clients always send multibulk rather than inline text because it is binary-safe and needs no quoting.
    /// A multibulk request is an array of bulk strings on the wire, so it is written by the replies' one
    /// encoder (``Reply/encode(into:version:)``): one decimal writer, one framing.
    public func encode(into buffer: inout [UInt8]) {
        Reply.array(arguments.map { .bulk($0) }).encode(into: &buffer)
    }

    /// This request in RESP multibulk form.
    public var encoded: [UInt8] {
        var buffer: [UInt8] = []
        encode(into: &buffer)
        return buffer
    }
}
