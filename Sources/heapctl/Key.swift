import Glibc

/// One keystroke at the prompt, after control bytes and escape sequences have been decoded.
enum Key: Equatable {
    /// A character to insert (UTF-8 input is decoded).
    case character(Character)
    /// Tab: completes the command name.
    case tab
    /// Enter (CR in raw mode; LF is accepted too).
    case enter
    /// Ctrl-C.
    case interrupt
    /// Ctrl-D.
    case endOfFile
    /// Backspace or Ctrl-H.
    case backspace
    /// The Delete key.
    case delete
    /// Left arrow or Ctrl-B.
    case left
    /// Right arrow or Ctrl-F.
    case right
    /// Home or Ctrl-A.
    case home
    /// End or Ctrl-E.
    case end
    /// Alt-B or Ctrl-Left.
    case wordLeft
    /// Alt-F or Ctrl-Right.
    case wordRight
    /// Up arrow or Ctrl-P.
    case up
    /// Down arrow or Ctrl-N.
    case down
    /// Ctrl-U.
    case killToStart
    /// Ctrl-K.
    case killToEnd
    /// Ctrl-W or Alt-Backspace.
    case killWordBackward
    /// Ctrl-L.
    case clearScreen
    /// Anything the editor does not handle (Tab, unknown escape sequences, other control keys).
    case ignored
}

/// Reads keystrokes from a terminal in raw mode, one `read` of one byte at a time.
///
/// Byte-at-a-time reads are what make escape sequences decodable without timers: after ESC the reader
/// simply reads on until the sequence is complete. Terminals send the sequences for arrows, Home, End
/// and Delete in one burst, so this does not wait on a human. (A lone Escape key press waits for the next
/// key, as in linenoise.)
struct KeyReader {
    let descriptor: Int32

    /// The next keystroke, or `nil` when the terminal is gone (end of input or a read error).
    func next() -> Key? {
        guard let byte = readByte() else {
            return nil
        }
        switch byte {
        case 1: return .home
        case 2: return .left
        case 3: return .interrupt
        case 4: return .endOfFile
        case 5: return .end
        case 6: return .right
        case 8, 127: return .backspace
        case 9: return .tab
        case 10, 13: return .enter
        case 11: return .killToEnd
        case 12: return .clearScreen
        case 14: return .down
        case 16: return .up
        case 21: return .killToStart
        case 23: return .killWordBackward
        case 27: return escapeSequence()
        case 0..<32: return .ignored
        case 0x80...: return utf8Character(startingWith: byte)
        default: return .character(Character(UnicodeScalar(byte)))
        }
    }

    /// Decodes what follows an ESC: `ESC [ params final` (CSI), `ESC O final` (SS3, sent by terminals in
    /// application cursor mode), or `ESC key` (Alt-key).
    private func escapeSequence() -> Key? {
        guard let first = readByte() else {
            return nil
        }
        switch first {
        case UInt8(ascii: "["):
            return controlSequence()
        case UInt8(ascii: "O"):
            guard let final = readByte() else {
                return nil
            }
            return cursorKey(final, modified: false) ?? .ignored
        case UInt8(ascii: "b"): return .wordLeft
        case UInt8(ascii: "f"): return .wordRight
        case 8, 127: return .killWordBackward
        default: return .ignored
        }
    }

    /// Decodes a CSI sequence after `ESC [`: parameter bytes (`0`-`?`), intermediate bytes, then one final
    /// byte (`@`-`~`). `1;5C` is Ctrl-Right in xterm; `3~` is Delete, `1~`/`7~` Home and `4~`/`8~` End.
    private func controlSequence() -> Key? {
        var parameters: [UInt8] = []
        // Real sequences are a few bytes long; the bound only stops garbage from being read forever.
        while parameters.count < 16 {
            guard let byte = readByte() else {
                return nil
            }
            if (0x40...0x7E).contains(byte) {
                let text = String(decoding: parameters, as: UTF8.self)
                if byte == UInt8(ascii: "~") {
                    switch text {
                    case "1", "7": return .home
                    case "4", "8": return .end
                    case "3": return .delete
                    default: return .ignored
                    }
                }
                let modified = text.hasSuffix(";5") || text.hasSuffix(";3")
                return cursorKey(byte, modified: modified) ?? .ignored
            }
            parameters.append(byte)
        }
        return .ignored
    }

    /// The key a cursor sequence's final byte names; `modified` (Ctrl or Alt held) turns Left and Right
    /// into word moves.
    private func cursorKey(_ final: UInt8, modified: Bool) -> Key? {
        switch final {
        case UInt8(ascii: "A"): .up
        case UInt8(ascii: "B"): .down
        case UInt8(ascii: "C"): modified ? .wordRight : .right
        case UInt8(ascii: "D"): modified ? .wordLeft : .left
        case UInt8(ascii: "H"): .home
        case UInt8(ascii: "F"): .end
        default: nil
        }
    }

    /// Reads the continuation bytes a UTF-8 lead byte announces and decodes the character; malformed input
    /// is ignored rather than inserted as U+FFFD.
    private func utf8Character(startingWith lead: UInt8) -> Key? {
        let length: Int
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0...0xEF: length = 3
        case 0xF0...0xF4: length = 4
        default: return .ignored
        }
        var bytes = [lead]
        while bytes.count < length {
            guard let byte = readByte() else {
                return nil
            }
            bytes.append(byte)
        }
        guard let text = String(validating: bytes, as: UTF8.self), let character = text.first else {
            return .ignored
        }
        return .character(character)
    }

    private func readByte() -> UInt8? {
        var byte: UInt8 = 0
        while true {
            let count = read(descriptor, &byte, 1)
            if count == 1 {
                return byte
            }
            if count < 0 && errno == EINTR {
                continue
            }
            return nil
        }
    }
}
