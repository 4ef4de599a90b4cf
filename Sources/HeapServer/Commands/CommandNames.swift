/// Command names looked up from a request's bytes, case-insensitively, without building a string
/// (issue 11 item 4: a `String` and two SipHash lookups per request were 3% of a PING's time).
///
/// An open-addressing table of FNV-1a hashes over the upper-cased bytes, probed linearly and sized
/// to stay under a quarter full; a hit is confirmed by comparing the bytes. A two-word name
/// (`GC COLLECT`) is hashed as its two words joined by one space, without joining them.
struct CommandNames {
    private let slots: [Int32]
    private let names: [[UInt8]]
    private let mask: Int

    /// `names[i]` in upper case, found as `i`.
    init(_ names: [String]) {
        self.names = names.map { Array($0.utf8) }
        var size = 16
        while size < names.count * 4 { size *= 2 }
        mask = size - 1
        var slots = [Int32](repeating: -1, count: size)
        for (index, name) in self.names.enumerated() {
            var slot = Int(truncatingIfNeeded: name.withUnsafeBytes { Self.hash($0) }) & mask
            while slots[slot] >= 0 {
                precondition(self.names[Int(slots[slot])] != name, "command \(names[index]) is described twice")
                slot = (slot + 1) & mask
            }
            slots[slot] = Int32(index)
        }
        self.slots = slots
    }

    /// The index of the name `first` (one word), or of `first second` when `second` is given: the bytes
    /// where they are, in a request's buffer.
    @inline(__always)
    func find(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer? = nil) -> Int? {
        var hash = Self.hash(first)
        if let second {
            hash = Self.fold(hash, UInt8(ascii: " "))
            hash = Self.hash(second, from: hash)
        }
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let index = Int(slots[slot])
            if index < 0 { return nil }
            if matches(names[index], first, second) { return index }
            slot = (slot + 1) & mask
        }
    }

    /// ``find(_:_:)`` over arrays (tests, names typed as strings).
    func find(_ first: [UInt8], _ second: [UInt8]? = nil) -> Int? {
        first.withUnsafeBytes { first in
            guard let second else { return find(first) }
            return second.withUnsafeBytes { find(first, $0) }
        }
    }

    private func matches(_ name: [UInt8], _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer?) -> Bool {
        let length = first.count + (second.map { $0.count + 1 } ?? 0)
        guard name.count == length else { return false }
        return name.withUnsafeBytes { name in
            for offset in 0..<first.count where name[offset] != Self.upper(first[offset]) { return false }
            guard let second else { return true }
            guard name[first.count] == UInt8(ascii: " ") else { return false }
            let rest = first.count + 1
            for offset in 0..<second.count where name[rest + offset] != Self.upper(second[offset]) { return false }
            return true
        }
    }

    @inline(__always)
    private static func upper(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") ? byte - 32 : byte
    }

    @inline(__always)
    private static func fold(_ hash: UInt64, _ byte: UInt8) -> UInt64 {
        (hash ^ UInt64(upper(byte))) &* 0x100_0000_01b3
    }

    @inline(__always)
    private static func hash(_ bytes: UnsafeRawBufferPointer, from start: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
        var hash = start
        for byte in bytes { hash = fold(hash, byte) }
        return hash
    }
}
