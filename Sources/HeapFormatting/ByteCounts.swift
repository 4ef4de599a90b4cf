/// A byte count for people, with one decimal in the largest binary unit under 1024 of it: `512 B`,
/// `1.5 KiB`, `2.0 MiB`. Used by reports and views that state sizes in prose (DOCTOR, `INFO`'s
/// `_human` figures, `heapctl top`); tracemalloc's lines use Python's own rules instead
/// (``formatSize(_:sign:)``).
public func formatBytes(_ count: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(count)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    if unit == 0 { return "\(count) B" }
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(tenths % 10) \(units[unit])"
}
