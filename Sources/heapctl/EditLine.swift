/// The line being edited at the prompt: its characters and the cursor, with one method per editing key.
///
/// Kept apart from the terminal code so that the editing rules read as plain list operations. The
/// cursor is an index between characters, from 0 (before the first) to `characters.count` (after the
/// last). Words, for Ctrl-W and Alt-B/F, are runs of non-space characters, as in a shell.
struct EditLine {
    private(set) var characters: [Character]
    private(set) var cursor: Int

    /// A line holding `text`, with the cursor at its end (where it is after recalling history).
    init(_ text: String = "") {
        characters = Array(text)
        cursor = characters.count
    }

    var text: String {
        String(characters)
    }

    var isEmpty: Bool {
        characters.isEmpty
    }

    mutating func insert(_ character: Character) {
        characters.insert(character, at: cursor)
        cursor += 1
    }

    /// Backspace: removes the character before the cursor.
    mutating func deleteBackward() {
        guard cursor > 0 else {
            return
        }
        cursor -= 1
        characters.remove(at: cursor)
    }

    /// Delete (and Ctrl-D on a non-empty line): removes the character under the cursor.
    mutating func deleteForward() {
        guard cursor < characters.count else {
            return
        }
        characters.remove(at: cursor)
    }

    mutating func moveLeft() {
        cursor = max(cursor - 1, 0)
    }

    mutating func moveRight() {
        cursor = min(cursor + 1, characters.count)
    }

    mutating func moveToStart() {
        cursor = 0
    }

    mutating func moveToEnd() {
        cursor = characters.count
    }

    /// Alt-B: to the start of the word before the cursor.
    mutating func moveWordLeft() {
        cursor = startOfWord(before: cursor)
    }

    /// Alt-F: to the end of the word after the cursor.
    mutating func moveWordRight() {
        var position = cursor
        while position < characters.count && characters[position] == " " {
            position += 1
        }
        while position < characters.count && characters[position] != " " {
            position += 1
        }
        cursor = position
    }

    /// Ctrl-U: removes everything before the cursor.
    mutating func killToStart() {
        characters.removeSubrange(..<cursor)
        cursor = 0
    }

    /// Ctrl-K: removes everything from the cursor on.
    mutating func killToEnd() {
        characters.removeSubrange(cursor...)
    }

    /// Ctrl-W: removes the word before the cursor and the spaces after it.
    mutating func killWordBackward() {
        let start = startOfWord(before: cursor)
        characters.removeSubrange(start..<cursor)
        cursor = start
    }

    /// Where the word ending at or before `position` starts, skipping spaces first.
    private func startOfWord(before position: Int) -> Int {
        var start = position
        while start > 0 && characters[start - 1] == " " {
            start -= 1
        }
        while start > 0 && characters[start - 1] != " " {
            start -= 1
        }
        return start
    }

    /// Tab: replaces the text before the cursor with `text` (a completion of it), the cursor after it.
    mutating func replacePrefix(upToCursorWith text: String) {
        characters.replaceSubrange(0..<cursor, with: Array(text))
        cursor = text.count
    }
}
