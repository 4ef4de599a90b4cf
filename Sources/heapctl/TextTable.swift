/// Columns of text aligned with spaces: names left, numbers right, two spaces between.
struct TextTable {
    let header: [String]
    /// Columns aligned to the right (the numbers).
    let rightAligned: Set<Int>
    var rows: [[String]] = []

    /// The table as lines, header first, without trailing spaces.
    var lines: [String] {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            var line = ""
            for (column, cell) in row.enumerated() {
                if column > 0 { line += "  " }
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                line += rightAligned.contains(column) ? padding + cell : cell + padding
            }
            while line.hasSuffix(" ") { line.removeLast() }
            return line
        }
    }

    var text: String { lines.map { $0 + "\n" }.joined() }
}
