import Foundation
import HeapFormatting

/// Memory in use over time as an SVG picture, like memory_profiler's `mprof plot`: the curve, the
/// collections as vertical markers and a few labelled points (the script lines that moved memory most).
///
/// Plain SVG 1.1 with no script or external reference, so any browser or `rsvg-convert` shows it.
struct MemoryPlot {
    let title: String
    let yLabel: String
    /// (seconds since the start, bytes).
    var points: [(Double, Int)] = []
    /// (seconds, how many collections ended since the previous point).
    var collections: [(Double, Int)] = []
    /// (seconds, bytes, label) placed on the curve.
    var marks: [(Double, Int, String)] = []
    /// (seconds, current bytes, peak bytes): a step during which memory rose well above both ends
    /// (tracemalloc's peak), drawn as a whisker from the curve up to the peak.
    var peaks: [(Double, Int, Int)] = []
    /// (seconds, bytes, label): the highest memory of the run, marked and named.
    var peakMark: (Double, Int, String)?

    init(title: String, yLabel: String) {
        self.title = title
        self.yLabel = yLabel
    }

    static let width = 900.0
    static let height = 420.0
    static let left = 90.0
    static let right = 30.0
    static let top = 50.0
    static let bottom = 60.0

    var svg: String {
        let plotWidth = Self.width - Self.left - Self.right
        let plotHeight = Self.height - Self.top - Self.bottom
        let lastSecond = max(points.map(\.0).max() ?? 0, 1e-6)
        let highest = max(points.map(\.1).max() ?? 0, peaks.map(\.2).max() ?? 0, peakMark?.1 ?? 0, 1)
        let (timeScale, timeUnit) = lastSecond < 2 ? (1000.0, "ms") : (1.0, "s")
        // Round ticks (1, 2 or 5 times a power of ten of the axis' unit), the axes ending on the last.
        let timeStep = Self.niceStep(lastSecond * timeScale / 4) / timeScale
        let timeTicks = Self.ticks(upTo: lastSecond, step: timeStep)
        let maxSeconds = timeTicks.last!
        let (unitName, unitSize) = Self.byteUnit(for: Double(highest))
        let byteStep = Self.niceStep(Double(highest) / unitSize / 4) * unitSize
        let byteTicks = Self.ticks(upTo: Double(highest), step: byteStep)
        let maxBytes = byteTicks.last!
        func x(_ seconds: Double) -> Double { Self.left + seconds / maxSeconds * plotWidth }
        func y(_ bytes: Double) -> Double { Self.top + plotHeight - bytes / maxBytes * plotHeight }
        func number(_ value: Double) -> String { String(format2: value) }

        var out = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(Self.width))" height="\(Int(Self.height))" \
            viewBox="0 0 \(Int(Self.width)) \(Int(Self.height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(Int(Self.width / 2))" y="24" text-anchor="middle" font-size="15">\(Self.escape(title))</text>

            """
        // Axes, grid and tick labels.
        out += "<g stroke=\"#ccc\" stroke-width=\"1\">\n"
        for bytes in byteTicks {
            out +=
                "<line x1=\"\(number(Self.left))\" y1=\"\(number(y(bytes)))\" x2=\"\(number(Self.left + plotWidth))\" "
            out += "y2=\"\(number(y(bytes)))\"/>\n"
        }
        out += "</g>\n<g fill=\"#333\">\n"
        for bytes in byteTicks {
            out += "<text x=\"\(number(Self.left - 8))\" y=\"\(number(y(bytes) + 4))\" text-anchor=\"end\">"
            out += "\(Self.escape(bytes == 0 ? "0" : Self.tickText(bytes / unitSize) + " " + unitName))</text>\n"
        }
        for (index, seconds) in timeTicks.enumerated() {
            let anchor = index == timeTicks.count - 1 ? "end" : index == 0 ? "start" : "middle"
            out +=
                "<text x=\"\(number(x(seconds)))\" y=\"\(number(Self.top + plotHeight + 18))\" text-anchor=\"\(anchor)\">"
            out += "\(Self.tickText(seconds * timeScale)) \(timeUnit)</text>\n"
        }
        out += "<text x=\"\(number(Self.left + plotWidth / 2))\" y=\"\(number(Self.height - 14))\" "
        out += "text-anchor=\"middle\">time (\(timeUnit))</text>\n"
        out += "<text x=\"18\" y=\"\(number(Self.top + plotHeight / 2))\" text-anchor=\"middle\" "
        out += "transform=\"rotate(-90 18 \(number(Self.top + plotHeight / 2)))\">\(Self.escape(yLabel))</text>\n"
        out += "</g>\n"
        out += "<rect x=\"\(number(Self.left))\" y=\"\(number(Self.top))\" width=\"\(number(plotWidth))\" "
        out += "height=\"\(number(plotHeight))\" fill=\"none\" stroke=\"#333\"/>\n"
        // Collections: dashed red lines, with how many ended there.
        out += "<g class=\"collections\" stroke=\"#c0392b\" stroke-dasharray=\"4 3\">\n"
        for (seconds, count) in collections {
            out += "<line x1=\"\(number(x(seconds)))\" y1=\"\(number(Self.top))\" x2=\"\(number(x(seconds)))\" "
            out +=
                "y2=\"\(number(Self.top + plotHeight))\"><title>\(count) collection\(count == 1 ? "" : "s")</title></line>\n"
        }
        out += "</g>\n"
        // The curve, as steps: memory holds its value until the next measurement.
        var path = ""
        for (index, point) in points.enumerated() {
            if index == 0 {
                path += "M\(number(x(point.0))),\(number(y(Double(point.1))))"
            } else {
                path += " H\(number(x(point.0))) V\(number(y(Double(point.1))))"
            }
        }
        out += "<path class=\"memory\" d=\"\(path)\" fill=\"none\" stroke=\"#1f6fb2\" stroke-width=\"2\"/>\n"
        // Peaks between two measurements: a whisker up from the curve; the highest named.
        out += "<g class=\"peaks\" stroke=\"#8e44ad\" stroke-width=\"1.5\">\n"
        for (seconds, current, peak) in peaks {
            out += "<line x1=\"\(number(x(seconds)))\" y1=\"\(number(y(Double(current))))\" "
            out += "x2=\"\(number(x(seconds)))\" y2=\"\(number(y(Double(peak))))\"/>\n"
        }
        out += "</g>\n"
        if let (seconds, bytes, label) = peakMark {
            let nearEdge = x(seconds) > Self.left + plotWidth / 2
            out += "<g class=\"peak\" fill=\"#8e44ad\"><circle cx=\"\(number(x(seconds)))\" "
            out +=
                "cy=\"\(number(y(Double(bytes))))\" r=\"4\"/><text x=\"\(number(x(seconds) + (nearEdge ? -7 : 7)))\" "
            out += "y=\"\(number(y(Double(bytes)) - 8))\"\(nearEdge ? " text-anchor=\"end\"" : "")>"
            out += "\(Self.escape("peak " + formatBytes(bytes) + " (" + label + ")"))</text></g>\n"
        }
        out += "<g class=\"marks\" fill=\"#1f6fb2\">\n"
        var placed: [(left: Double, right: Double, y: Double)] = []
        for (seconds, bytes, label) in marks {
            // Labels near the right edge go to the left of their point.
            let nearEdge = x(seconds) > Self.left + plotWidth - 70
            out += "<circle cx=\"\(number(x(seconds)))\" cy=\"\(number(y(Double(bytes))))\" r=\"3\"/>"
            // A label whose box would overlap one already placed is left out (its point stays).
            let width = Double(label.count) * 7
            let left = nearEdge ? x(seconds) - 5 - width : x(seconds) + 5
            let box = (left: left, right: left + width, y: y(Double(bytes)))
            if placed.contains(where: { $0.left < box.right && box.left < $0.right && abs($0.y - box.y) < 14 }) {
                out += "\n"
                continue
            }
            placed.append(box)
            out += "<text x=\"\(number(x(seconds) + (nearEdge ? -5 : 5)))\" y=\"\(number(y(Double(bytes)) - 6))\" "
            out += "fill=\"#333\"\(nearEdge ? " text-anchor=\"end\"" : "")>\(Self.escape(label))</text>\n"
        }
        // Every measurement as a tick under the plot (one per script line run or recorded sample),
        // while there are few enough to tell apart.
        out += "<g class=\"ticks\" stroke=\"#1f6fb2\">"
        for point in points where points.count <= 300 {
            out += "<line x1=\"\(number(x(point.0)))\" y1=\"\(number(Self.top + plotHeight))\" "
            out += "x2=\"\(number(x(point.0)))\" y2=\"\(number(Self.top + plotHeight + 5))\"/>"
        }
        out += "</g>\n"
        out += "</g>\n"
        // Legend.
        let legendY = Self.top - 12
        out += "<g font-size=\"11\"><line x1=\"\(number(Self.left))\" y1=\"\(number(legendY))\" "
        out += "x2=\"\(number(Self.left + 24))\" y2=\"\(number(legendY))\" stroke=\"#1f6fb2\" stroke-width=\"2\"/>"
        out += "<text x=\"\(number(Self.left + 30))\" y=\"\(number(legendY + 4))\">\(Self.escape(yLabel))</text>"
        out += "<line x1=\"\(number(Self.left + 170))\" y1=\"\(number(legendY))\" x2=\"\(number(Self.left + 194))\" "
        out += "y2=\"\(number(legendY))\" stroke=\"#c0392b\" stroke-dasharray=\"4 3\"/>"
        out += "<text x=\"\(number(Self.left + 200))\" y=\"\(number(legendY + 4))\">collection</text></g>\n"
        out += "</svg>\n"
        return out
    }

    /// The byte axis' unit: the largest binary unit of which the top value is at least 2.
    static func byteUnit(for top: Double) -> (String, Double) {
        let units: [(String, Double)] = [("GiB", 1_073_741_824), ("MiB", 1_048_576), ("KiB", 1024)]
        return units.first { top >= 2 * $0.1 } ?? ("B", 1)
    }

    /// 1, 2 or 5 times a power of ten, the smallest at or above `raw` (so four or five steps span the
    /// axis and every tick is a round number).
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0 else { return 1 }
        let power = pow(10, floor(log10(raw)))
        let fraction = raw / power
        return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power
    }

    /// 0, step, 2·step, … up to the first tick at or above `top`.
    static func ticks(upTo top: Double, step: Double) -> [Double] {
        var ticks = [0.0]
        while ticks.last! < top * (1 - 1e-9) { ticks.append(Double(ticks.count) * step) }
        return ticks.count == 1 ? [0, step] : ticks
    }

    /// A tick's number: whole, or with the decimals a 1-2-5 step needs (0.25, 0.5), never 258.5.
    static func tickText(_ value: Double) -> String {
        let rounded = (value * 1000).rounded() / 1000
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }
}

extension String {
    /// A coordinate or tick value with at most two decimals.
    init(format2 value: Double) {
        let rounded = (value * 100).rounded() / 100
        self = rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }
}
