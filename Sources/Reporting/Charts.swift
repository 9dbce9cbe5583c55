import Domain
import Foundation

/// Small, dependency-free SVG charts that print well: thin lines, grey bands, labelled axes.
enum SVGChart {
    struct Series {
        let name: String
        let color: String
        let points: [(x: Int, y: Double)]
        var dashed = false
    }

    struct Band {
        let color: String
        let opacity: Double
        let points: [(x: Int, low: Double, high: Double)]
    }

    /// A line chart over month indices 0…(labels.count − 1); labels are shown every few months.
    static func lines(
        width: Double = 640, height: Double = 260, labels: [String], series: [Series], bands: [Band] = [],
        percent: Bool = false, title: String
    ) -> String {
        let left = 56.0
        let right = 16.0
        let top = 28.0
        let bottom = 40.0
        let values = series.flatMap { $0.points.map(\.y) } + bands.flatMap { $0.points.flatMap { [$0.low, $0.high] } }
        let finite = values.filter(\.isFinite)
        var low = min(0, finite.min() ?? 0)
        var high = finite.max() ?? 1
        if high <= low { high = low + 1 }
        let (ticks, step) = niceTicks(low: low, high: high)
        low = ticks.first ?? low
        high = max(high, (ticks.last ?? high))
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        let count = max(2, labels.count)
        func x(_ index: Int) -> Double { left + plotWidth * Double(index) / Double(count - 1) }
        func y(_ value: Double) -> Double { top + plotHeight * (1 - (value - low) / (high - low)) }
        var svg =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(f(width)) \(f(height))\" width=\"100%\" role=\"img\" aria-label=\"\(escape(title))\">"
        svg += "<text x=\"\(f(left))\" y=\"16\" font-size=\"13\" font-weight=\"600\">\(escape(title))</text>"
        for tick in ticks {
            svg +=
                "<line x1=\"\(f(left))\" x2=\"\(f(width - right))\" y1=\"\(f(y(tick)))\" y2=\"\(f(y(tick)))\" stroke=\"#ddd\" stroke-width=\"0.6\"/>"
            svg +=
                "<text x=\"\(f(left - 6))\" y=\"\(f(y(tick) + 4))\" font-size=\"10\" text-anchor=\"end\" fill=\"#555\">\(axisLabel(tick, step: step, percent: percent))</text>"
        }
        let every = max(1, Int((Double(labels.count) / 8).rounded(.up)))
        for (index, label) in labels.enumerated() where index % every == 0 || index == labels.count - 1 {
            svg +=
                "<text x=\"\(f(x(index)))\" y=\"\(f(height - bottom + 16))\" font-size=\"10\" text-anchor=\"middle\" fill=\"#555\">\(escape(label))</text>"
        }
        svg +=
            "<line x1=\"\(f(left))\" x2=\"\(f(width - right))\" y1=\"\(f(y(low)))\" y2=\"\(f(y(low)))\" stroke=\"#888\" stroke-width=\"0.8\"/>"
        for band in bands where !band.points.isEmpty {
            let upper = band.points.map { "\(f(x($0.x))),\(f(y($0.high)))" }
            let lower = band.points.reversed().map { "\(f(x($0.x))),\(f(y($0.low)))" }
            svg +=
                "<polygon points=\"\((upper + lower).joined(separator: " "))\" fill=\"\(band.color)\" fill-opacity=\"\(band.opacity)\" stroke=\"none\"/>"
        }
        for item in series where !item.points.isEmpty {
            let path = item.points.filter { $0.y.isFinite }.map { "\(f(x($0.x))),\(f(y($0.y)))" }.joined(separator: " ")
            svg +=
                "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(item.color)\" stroke-width=\"1.8\"\(item.dashed ? " stroke-dasharray=\"5 3\"" : "")/>"
            for point in item.points where point.y.isFinite {
                svg += "<circle cx=\"\(f(x(point.x)))\" cy=\"\(f(y(point.y)))\" r=\"2\" fill=\"\(item.color)\"/>"
            }
        }
        var legendX = left
        for item in series {
            svg +=
                "<line x1=\"\(f(legendX))\" x2=\"\(f(legendX + 18))\" y1=\"\(f(height - 8))\" y2=\"\(f(height - 8))\" stroke=\"\(item.color)\" stroke-width=\"2\"\(item.dashed ? " stroke-dasharray=\"5 3\"" : "")/>"
            svg += "<text x=\"\(f(legendX + 22))\" y=\"\(f(height - 4))\" font-size=\"10\">\(escape(item.name))</text>"
            legendX += 30 + Double(item.name.count) * 11
        }
        return svg + "</svg>"
    }

    /// Horizontal bars (0–max), with an optional vertical reference line (e.g. the share of the year elapsed).
    static func bars(
        width: Double = 640, rows: [(label: String, value: Double)], reference: (value: Double, label: String)?,
        percent: Bool, title: String
    ) -> String {
        let left = 96.0
        let right = 56.0
        let top = 28.0
        let rowHeight = 18.0
        let height = top + rowHeight * Double(rows.count) + 24
        let high = max(rows.map(\.value).filter(\.isFinite).max() ?? 1, reference?.value ?? 0, percent ? 1 : 0.0001)
        let plotWidth = width - left - right
        func x(_ value: Double) -> Double { left + plotWidth * max(0, value) / high }
        var svg =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(f(width)) \(f(height))\" width=\"100%\" role=\"img\" aria-label=\"\(escape(title))\">"
        svg += "<text x=\"\(f(left))\" y=\"16\" font-size=\"13\" font-weight=\"600\">\(escape(title))</text>"
        for (index, row) in rows.enumerated() {
            let y = top + rowHeight * Double(index)
            svg +=
                "<text x=\"\(f(left - 6))\" y=\"\(f(y + 12))\" font-size=\"11\" text-anchor=\"end\">\(escape(row.label))</text>"
            svg +=
                "<rect x=\"\(f(left))\" y=\"\(f(y + 3))\" width=\"\(f(max(0, x(row.value) - left)))\" height=\"\(f(rowHeight - 6))\" fill=\"#3b6ea5\"/>"
            let text = percent ? String(format: "%.1f%%", row.value * 100) : String(format: "%.0f", row.value)
            svg += "<text x=\"\(f(x(row.value) + 4))\" y=\"\(f(y + 12))\" font-size=\"10\" fill=\"#333\">\(text)</text>"
        }
        if let reference {
            let rx = x(reference.value)
            svg +=
                "<line x1=\"\(f(rx))\" x2=\"\(f(rx))\" y1=\"\(f(top - 4))\" y2=\"\(f(height - 20))\" stroke=\"#c0392b\" stroke-width=\"1.2\" stroke-dasharray=\"4 3\"/>"
            svg +=
                "<text x=\"\(f(rx))\" y=\"\(f(height - 6))\" font-size=\"10\" text-anchor=\"middle\" fill=\"#c0392b\">\(escape(reference.label))</text>"
        }
        return svg + "</svg>"
    }

    /// The light-to-dark classes of a choropleth, the dashboard's too (`DashboardPage`).
    static let choroplethPalette = ["#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c"]

    /// Which of the palette's equal-width classes between `low` and `high` a value falls in.
    static func choroplethClass(_ value: Double, low: Double, high: Double) -> Int {
        guard high > low else { return choroplethPalette.count / 2 }
        let index = Int(((value - low) / (high - low) * Double(choroplethPalette.count)).rounded(.down))
        return min(choroplethPalette.count - 1, max(0, index))
    }

    /// The counties coloured by `values` (by unit code) in five equal-width classes from the lowest value to the
    /// highest, each labelled with its name and value; a county without a value (none of its villages reported) is grey. A legend gives the classes.
    static func choropleth(drawing: CountyDrawing, values: [String: Double], percent: Bool, title: String) -> String {
        let finite = values.values.filter(\.isFinite)
        let low = finite.min() ?? 0
        let high = finite.max() ?? 0
        let format = { (value: Double) in
            percent ? String(format: "%.1f%%", value * 100) : String(format: "%.0f", value)
        }
        let top = 24.0
        let legend = 22.0
        let height = drawing.height + top + legend
        var svg =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(f(drawing.width)) \(f(height))\" width=\"100%\" role=\"img\" aria-label=\"\(escape(title))\">"
        svg += "<text x=\"8\" y=\"16\" font-size=\"13\" font-weight=\"600\">\(escape(title))</text>"
        svg += "<g transform=\"translate(0 \(f(top)))\">"
        for area in drawing.areas {
            let value = values[area.unit].flatMap { $0.isFinite ? $0 : nil }
            let fill = value.map { choroplethPalette[choroplethClass($0, low: low, high: high)] } ?? "#e0e0e0"
            svg +=
                "<path d=\"\(area.path)\" fill=\"\(fill)\" stroke=\"#fff\" stroke-width=\"1\" data-unit=\"\(area.unit)\"><title>\(escape(area.name))：\(value.map(format) ?? "未报送")</title></path>"
        }
        for area in drawing.areas {
            let value = values[area.unit].flatMap { $0.isFinite ? $0 : nil }
            let dark = value.map { choroplethClass($0, low: low, high: high) >= 3 } ?? false
            let color = dark ? "#fff" : "#1d1d1f"
            svg +=
                "<text x=\"\(f(area.labelX))\" y=\"\(f(area.labelY - 2))\" font-size=\"10\" text-anchor=\"middle\" fill=\"\(color)\">\(escape(area.name))</text>"
            svg +=
                "<text x=\"\(f(area.labelX))\" y=\"\(f(area.labelY + 9))\" font-size=\"9\" text-anchor=\"middle\" fill=\"\(color)\">\(value.map(format) ?? "–")</text>"
        }
        svg += "</g>"
        if !finite.isEmpty {
            let step = (high - low) / Double(choroplethPalette.count)
            let y = height - legend + 6
            for (index, color) in choroplethPalette.enumerated() {
                let x = 8 + Double(index) * 84
                let from = low + step * Double(index)
                svg +=
                    "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"14\" height=\"10\" fill=\"\(color)\"/><text x=\"\(f(x + 18))\" y=\"\(f(y + 9))\" font-size=\"9\">\(format(from))–\(format(from + step))</text>"
            }
        }
        return svg + "</svg>"
    }

    static func niceTicks(low: Double, high: Double) -> ([Double], Double) {
        let span = high - low
        let raw = span / 5
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        let start = floor(low / step) * step
        var ticks: [Double] = []
        var value = start
        while value <= high + step * 0.5, ticks.count < 12 {
            ticks.append(value)
            value += step
        }
        return (ticks, step)
    }

    static func axisLabel(_ value: Double, step: Double, percent: Bool) -> String {
        if percent { return String(format: step * 100 < 1 ? "%.1f%%" : "%.0f%%", value * 100) }
        return step < 1 ? String(format: "%.1f", value) : String(format: "%.0f", value)
    }

    static func f(_ value: Double) -> String { String(format: "%.1f", value) }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }
}
