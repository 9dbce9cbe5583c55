import Domain
import Foundation

/// A township's or county's monthly counters, as a two-column table: counter name, value.
package struct ActivityLedger: Sendable {
    package let encoding: LedgerEncoding
    package let counters: [UnitActivityReport.Counter: Int64]
    package let errors: [RowError]

    static let names: [UnitActivityReport.Counter: [String]] = [
        .jobsCollected: ["岗位征集数", "岗位征集", "征集岗位数"],
        .recruitmentEvents: ["招聘活动场次", "招聘会场次", "招聘活动"],
        .internshipPosts: ["就业见习岗位数", "见习岗位数", "见习岗位"],
        .gigMarketServices: ["零工市场服务人次", "零工服务人次", "零工服务"],
        .entrepreneurshipTrainees: ["创业培训人数", "创业培训"],
        .jobsCreatedByEntrepreneurship: ["创业带动就业人数", "创业带动就业"],
        .trainingCompletions: ["补贴性职业技能培训人数", "职业技能培训人数", "培训结业人数"],
        .labourDisputesHandled: ["劳动争议处理件数", "劳动争议案件数", "劳动争议"],
        .wageArrearsCases: ["欠薪案件数", "拖欠工资案件数", "欠薪案件"],
    ]

    static func counter(named text: String) -> UnitActivityReport.Counter? {
        let key = text.trimmingCharacters(in: .whitespaces).lowercased()
        return UnitActivityReport.Counter(rawValue: key) ?? names.first { $0.value.contains(key) }?.key
    }

    /// Reads `指标,数值` (or `counter,value`) rows; a header row is optional.
    package static func read(_ bytes: [UInt8], format: LedgerFormat) throws(LedgerFileError) -> ActivityLedger {
        let (encoding, headers, rows) = try LedgerTable.read(bytes, format: format)
        var counters: [UnitActivityReport.Counter: Int64] = [:]
        var errors: [RowError] = []
        var pairs: [(line: Int, name: String, value: String)] = []
        switch format {
        case .csv, .xlsx:
            guard headers.count >= 2 else {
                throw LedgerFileError(chinese: "报表应有两列：指标、数值", english: "the report needs two columns: counter, value")
            }
            if counter(named: headers[0]) != nil { pairs.append((1, headers[0], headers[1])) }
            for row in rows { pairs.append((row.line, row.cells[headers[0]] ?? "", row.cells[headers[1]] ?? "")) }
        case .jsonLines:
            for row in rows {
                for (name, value) in row.cells.sorted(by: { $0.key < $1.key }) { pairs.append((row.line, name, value)) }
            }
        }
        for (line, name, value) in pairs where !(name.isEmpty && value.isEmpty) {
            guard let counter = counter(named: name) else {
                errors.append(
                    RowError(
                        line: line, column: "指标", chinese: "指标“\(name.prefix(30))”无法识别",
                        english: "unknown counter '\(name.prefix(30))'"))
                continue
            }
            guard let number = Int64(value.replacingOccurrences(of: ",", with: "").trimmingCharacters(in: .whitespaces))
            else {
                errors.append(
                    RowError(
                        line: line, column: "数值", chinese: "“\(value.prefix(20))”不是整数",
                        english: "'\(value.prefix(20))' is not a whole number"))
                continue
            }
            if counters[counter] != nil {
                errors.append(
                    RowError(
                        line: line, column: "指标", chinese: "指标“\(name)”重复", english: "counter '\(name)' appears twice"))
                continue
            }
            counters[counter] = number
        }
        return ActivityLedger(encoding: encoding, counters: counters, errors: errors)
    }
}
