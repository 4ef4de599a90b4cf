/// Why a heap image was refused (reading) or could not be made (restoring): a kind a caller can
/// branch on and a message for people, which names the section and offset where it applies.
public struct ImageError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Not a heapd image at all (wrong magic).
        case notAnImage
        /// Written by a newer heapd, with a format version this one does not read.
        case newerVersion
        /// The file ends before the image does.
        case truncated
        /// A checksum failed, or a field holds a value no writer produces.
        case corrupt
        /// The image is well formed, but the heap it describes cannot be rebuilt here (memory cap,
        /// object limit) or failed the consistency check after rebuilding.
        case cannotRestore
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
