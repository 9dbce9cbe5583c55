import Domain
import Foundation

/// Monthly series in long form, `unit,period,value` with an optional `parent` column — what `empmon forecast`
/// and `empmon backtest` read.
package struct SeriesTable: Sendable {
    package struct Series: Sendable {
        package let unit: String
        package let start: Period
        package var values: [Double]
        package var end: Period { start.advanced(by: values.count - 1) }

        package init(unit: String, start: Period, values: [Double]) {
            self.unit = unit
            self.start = start
            self.values = values
        }
    }

    package var series: [String: Series]
    /// Present when the file has a parent column: each unit's parent, nil for roots.
    package var parents: [String: String?]?

    package struct Problems: Error, CustomStringConvertible, Sendable {
        package let messages: [String]
        package var description: String {
            (messages.prefix(20) + (messages.count > 20 ? ["… and \(messages.count - 20) more"] : [])).joined(
                separator: "\n")
        }
    }

    package init(series: [String: Series], parents: [String: String?]? = nil) {
        self.series = series
        self.parents = parents
    }

    /// Parses the file; every problem is reported with its line, and none is skipped silently.
    /// - Parameters:
    ///   - indicator: with a file that has an `indicator` column (as the simulator's ground truth), the rows of this one.
    ///   - missingAsZero: months missing inside a series count as 0 (files that leave out zeros) instead of an error.
    package init(csv text: String, indicator: String? = nil, missingAsZero: Bool = false) throws(Problems) {
        var problems: [String] = []
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map { String($0) }
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let headerLine = lines.first else {
            throw Problems(messages: ["the file is empty; expected a header unit,period,value[,parent]"])
        }
        let header = headerLine.trimmingCharacters(in: ["\u{FEFF}", " "]).split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
        guard let unitColumn = header.firstIndex(of: "unit"), let periodColumn = header.firstIndex(of: "period"),
            let valueColumn = header.firstIndex(of: "value")
        else {
            throw Problems(messages: [
                "line 1: the header must name the columns unit, period and value (and optionally parent); found '\(headerLine)'"
            ])
        }
        let parentColumn = header.firstIndex(of: "parent")
        let indicatorColumn = header.firstIndex(of: "indicator")
        if indicator != nil, indicatorColumn == nil {
            throw Problems(messages: ["line 1: an indicator was asked for but the file has no indicator column"])
        }
        var points: [String: [Period: Double]] = [:]
        var parents: [String: String?] = [:]
        for (index, line) in lines.enumerated().dropFirst() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let number = index + 1
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard fields.count >= header.count else {
                problems.append("line \(number): expected \(header.count) fields, found \(fields.count)")
                continue
            }
            if let indicator, let indicatorColumn, fields[indicatorColumn] != indicator { continue }
            let unit = fields[unitColumn]
            guard !unit.isEmpty else {
                problems.append("line \(number): the unit is empty")
                continue
            }
            guard let period = Period(fields[periodColumn]) else {
                problems.append("line \(number): period '\(fields[periodColumn])' is not YYYY-MM")
                continue
            }
            guard let value = Double(fields[valueColumn]), value.isFinite else {
                problems.append("line \(number): value '\(fields[valueColumn])' of \(unit) \(period) is not a number")
                continue
            }
            if points[unit]?[period] != nil {
                problems.append("line \(number): \(unit) \(period) appears twice")
                continue
            }
            points[unit, default: [:]][period] = value
            if let parentColumn {
                let parent = fields[parentColumn]
                if let known = parents[unit], known != (parent.isEmpty ? nil : parent) {
                    problems.append("line \(number): \(unit) has parent '\(parent)' here and '\(known ?? "")' earlier")
                }
                parents[unit] = parent.isEmpty ? nil : parent
            }
        }
        var series: [String: Series] = [:]
        for (unit, values) in points {
            let periods = values.keys.sorted()
            guard let first = periods.first, let last = periods.last else { continue }
            let missing = first.through(last).filter { values[$0] == nil }
            if !missing.isEmpty, !missingAsZero {
                problems.append(
                    "\(unit) has no value for \(missing.prefix(5).map(\.description).joined(separator: ", "))\(missing.count > 5 ? " …" : "") between \(first) and \(last)"
                )
                continue
            }
            series[unit] = Series(unit: unit, start: first, values: periods.map { values[$0] ?? 0 })
        }
        if !problems.isEmpty { throw Problems(messages: problems) }
        if let indicator, series.isEmpty { throw Problems(messages: ["no rows for indicator '\(indicator)'"]) }
        self.series = series
        self.parents = parentColumn == nil ? nil : parents
        if let hierarchyParents = self.parents {
            for (unit, parent) in hierarchyParents {
                if let parent, parent == unit { problems.append("\(unit) names itself as its parent") }
            }
            if !problems.isEmpty { throw Problems(messages: problems) }
        }
    }

    /// The hierarchy of the parent column, with aggregate series that the file lacks filled in as the sum of
    /// their children.
    package func completedHierarchy() throws(Problems) -> (Hierarchy, [String: Series])? {
        guard let parents else { return nil }
        let hierarchy: Hierarchy
        do { hierarchy = try Hierarchy(parents: parents) } catch { throw Problems(messages: [error.description]) }
        var all = series
        for node in hierarchy.childrenFirst where all[node] == nil {
            let kids = (hierarchy.children[node] ?? []).compactMap { all[$0] }
            guard let start = kids.map(\.start).min(), let end = kids.map(\.end).max() else { continue }
            let values = start.through(end).map { period in
                kids.reduce(0.0) { sum, kid in
                    let offset = kid.start.distance(to: period)
                    return sum + (kid.values.indices.contains(offset) ? kid.values[offset] : 0)
                }
            }
            all[node] = Series(unit: node, start: start, values: values)
        }
        let ends = Set(hierarchy.nodes.compactMap { all[$0]?.end })
        if ends.count > 1 {
            let latest = ends.max() ?? Period.earliest
            let behind = hierarchy.nodes.filter { (all[$0]?.end ?? latest) != latest }
            throw Problems(messages: [
                "a hierarchy is forecast from one month: \(behind.prefix(5).joined(separator: ", ")) end\(behind.count == 1 ? "s" : "") before \(latest)"
            ])
        }
        return (hierarchy, all)
    }
}
