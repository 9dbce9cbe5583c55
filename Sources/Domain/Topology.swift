/// One administrative unit.
package struct Division: Hashable, Sendable {
    package let code: DivisionCode
    package let name: String
    package let tier: Tier

    /// Urban communities (居委会, 社区) as against rural villages (村委会); decides the urban part of new
    /// employment (城镇新增就业). NBS village codes 001–199 are 居委会 and 200–399 村委会; the 400s–500s
    /// hold virtual units of development zones, urban when named a community.
    package var isUrban: Bool {
        guard tier == .village else { return true }
        let group = code.value % 1000
        if group < 200 { return true }
        if group < 400 { return false }
        return name.contains("社区") || name.contains("居委会")
    }
}

/// A problem found while loading or checking a topology, with the line it came from.
package struct TopologyIssue: Error, Hashable, Sendable, CustomStringConvertible {
    package let line: Int?
    package let message: String

    package var description: String { (line.map { "line \($0): " } ?? "") + message }
}

/// The administrative tree of one city: every unit, its parent and children.
package struct Topology: Sendable {
    package let city: Division
    private let divisions: [DivisionCode: Division]
    private let childrenByParent: [DivisionCode: [DivisionCode]]
    private let codesByName: [String: [DivisionCode]]

    /// Reads `code,name,tier,parent_code` CSV (the shared division list's format). Every row is checked:
    /// the code parses, the tier matches the code, the parent column equals the code's parent, and the
    /// parent exists. All problems are reported together.
    package init(csv text: String) throws(TopologyLoadError) {
        var divisions: [DivisionCode: Division] = [:]
        var declaredParents: [(line: Int, code: DivisionCode, parent: String)] = []
        var issues: [TopologyIssue] = []
        var sawHeader = false
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine[...]
            if line.isEmpty { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            if !sawHeader {
                sawHeader = true
                if fields.first?.trimmingBOM() == "code" { continue }
            }
            guard fields.count == 4 else {
                issues.append(TopologyIssue(line: lineNumber, message: "expected 4 fields, found \(fields.count)"))
                continue
            }
            guard let code = DivisionCode(fields[0]) else {
                issues.append(
                    TopologyIssue(line: lineNumber, message: "'\(fields[0])' is not a 12-digit division code"))
                continue
            }
            guard let tier = Tier(rawValue: fields[2]) else {
                issues.append(TopologyIssue(line: lineNumber, message: "unknown tier '\(fields[2])' for \(code)"))
                continue
            }
            if tier != code.tier {
                issues.append(
                    TopologyIssue(line: lineNumber, message: "\(code) is a \(code.tier) code but is listed as \(tier)"))
            }
            if divisions[code] != nil {
                issues.append(TopologyIssue(line: lineNumber, message: "\(code) is listed twice"))
            }
            divisions[code] = Division(code: code, name: fields[1], tier: code.tier)
            declaredParents.append((lineNumber, code, fields[3]))
        }
        for (line, code, parent) in declaredParents {
            if let expected = code.parent {
                if parent != expected.description {
                    issues.append(
                        TopologyIssue(line: line, message: "\(code) names parent \(parent), its code says \(expected)"))
                } else if divisions[expected] == nil {
                    issues.append(TopologyIssue(line: line, message: "parent \(expected) of \(code) is not listed"))
                }
            }
        }
        let cities = divisions.values.filter { $0.tier == .city }
        if cities.count != 1 {
            issues.append(TopologyIssue(line: nil, message: "expected exactly one city, found \(cities.count)"))
        }
        guard issues.isEmpty, let city = cities.first else { throw TopologyLoadError(issues: issues) }
        if let stray = divisions.keys.first(where: { !$0.isInSubtree(of: city.code) }) {
            throw TopologyLoadError(issues: [
                TopologyIssue(line: nil, message: "\(stray) lies outside city \(city.code)")
            ])
        }
        self.city = city
        self.divisions = divisions
        var children: [DivisionCode: [DivisionCode]] = [:]
        for code in divisions.keys { if let parent = code.parent { children[parent, default: []].append(code) } }
        self.childrenByParent = children.mapValues { $0.sorted() }
        self.codesByName = Dictionary(grouping: divisions.values, by: \.name).mapValues { $0.map(\.code).sorted() }
    }

    package subscript(code: DivisionCode) -> Division? { divisions[code] }

    package func contains(_ code: DivisionCode) -> Bool { divisions[code] != nil }

    /// Units with exactly this name (names repeat across counties, e.g. 城关镇).
    package func units(named name: String) -> [Division] {
        (codesByName[name] ?? []).compactMap { divisions[$0] }
    }

    package func children(of code: DivisionCode) -> [Division] {
        (childrenByParent[code] ?? []).compactMap { divisions[$0] }
    }

    /// The unit and everything below it, parents before children.
    package func subtree(of code: DivisionCode) -> [Division] {
        guard let root = divisions[code] else { return [] }
        var result = [root]
        var index = 0
        while index < result.count {
            result += children(of: result[index].code)
            index += 1
        }
        return result
    }

    /// Units of one tier at or below `code`.
    package func units(of tier: Tier, under code: DivisionCode) -> [Division] {
        subtree(of: code).filter { $0.tier == tier }
    }

    /// Units expected to send person records every month under `code`: its villages and communities
    /// (the unit itself if it is one). The denominator of reporting completeness (报送率).
    package func expectedReportingUnits(under code: DivisionCode) -> [Division] {
        units(of: .village, under: code)
    }

    package func count(of tier: Tier) -> Int { divisions.values.lazy.filter { $0.tier == tier }.count }

    package var allDivisions: [Division] { divisions.values.sorted { $0.code < $1.code } }
}

package struct TopologyLoadError: Error, Sendable, CustomStringConvertible {
    package let issues: [TopologyIssue]
    package var description: String {
        "the division list has \(issues.count) problem(s):\n"
            + issues.prefix(50).map { "  \($0)" }.joined(separator: "\n")
    }
}

extension String {
    func trimmingBOM() -> String { hasPrefix("\u{FEFF}") ? String(dropFirst()) : self }
}
