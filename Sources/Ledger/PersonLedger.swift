import Domain
import Foundation

/// A field of the person ledger that the agent uses. Every other column of a real 花名册 (姓名, 电话,
/// 现住地址 …) is ignored: it is never read into a record, so it can never be sent.
package enum LedgerColumn: String, Sendable, CaseIterable {
    case idNumber = "id_number"
    case householdNumber = "household_number"
    case status
    case employmentForm = "employment_form"
    case workLocation = "work_location"
    case sector
    case registeredUnemployed = "registered_unemployed"
    case groups
    case seekingWork = "seeking_work"
    case assisted
    case trained
    case incomeBand = "income_band"

    /// Header spellings accepted for this column, compared after trimming and lower-casing.
    var headers: [String] {
        switch self {
        case .idNumber: ["id_number", "身份证号", "身份证号码", "公民身份号码", "身份证"]
        case .householdNumber: ["household_number", "户编号", "户号", "家庭编号"]
        case .status: ["status", "就业状态", "就业情况"]
        case .employmentForm: ["employment_form", "就业形式", "就业方式"]
        case .workLocation: ["work_location", "就业地点", "就业区域", "务工地点"]
        case .sector: ["sector", "行业", "所属行业", "行业门类"]
        case .registeredUnemployed: ["registered_unemployed", "登记失业", "是否登记失业"]
        case .groups: ["groups", "人员类别", "人员类型"]
        case .seekingWork: ["seeking_work", "求职", "是否求职", "有无求职意愿"]
        case .assisted: ["assisted", "帮扶", "是否帮扶", "本月帮扶"]
        case .trained: ["trained", "培训", "是否培训", "本月培训"]
        case .incomeBand: ["income_band", "收入档次", "月收入"]
        }
    }

    var chineseName: String { headers[1] }
    static let required: [LedgerColumn] = [.idNumber, .householdNumber, .status]
}

/// One person's row, parsed but not yet pseudonymized.
package struct PersonEntry: Sendable {
    package let line: Int
    package let id: ResidentID
    package let householdNumber: String
    package let status: EmploymentStatus
    package let employmentForm: EmploymentForm?
    package let workLocation: WorkLocation?
    package let sector: Sector?
    package let registeredUnemployed: Bool
    package let groups: Set<PersonGroup>
    package let seekingWork: Bool
    package let assisted: Bool
    package let trained: Bool
    package let incomeBand: IncomeBand?
}

/// What is wrong with one cell of a ledger, for the clerk to fix: row (file line), column as headed in
/// the file, and the reason. Never repeats an ID number.
package struct RowError: Error, Sendable, Hashable, CustomStringConvertible {
    package let line: Int
    package let column: String
    package let chinese: String
    package let english: String

    package init(line: Int, column: String, chinese: String, english: String) {
        self.line = line
        self.column = column
        self.chinese = chinese
        self.english = english
    }

    package var description: String { "第\(line)行 [\(column)]: \(chinese) — line \(line) [\(column)]: \(english)" }
}

/// The parsed ledger: good entries, every row error, and what was ignored.
package struct PersonLedger: Sendable {
    package let encoding: LedgerEncoding
    package let entries: [PersonEntry]
    package let errors: [RowError]
    /// Columns the agent does not use (names, phones, addresses …), listed so the clerk knows they stay home.
    package let ignoredColumns: [String]
    /// The header each used column had in the file, to name it in messages.
    package let headerOf: [LedgerColumn: String]

    /// Reads a person ledger. File-level problems (encoding, missing required columns) throw; row
    /// problems are collected, and the good rows are kept.
    package static func read(_ bytes: [UInt8], format: LedgerFormat) throws(LedgerFileError) -> PersonLedger {
        let (encoding, headers, rows) = try LedgerTable.read(bytes, format: format)
        var headerOf: [LedgerColumn: String] = [:]
        var ignored: [String] = []
        for header in headers {
            let key = header.lowercased()
            if let column = LedgerColumn.allCases.first(where: { $0.headers.contains(key) }) {
                if headerOf[column] == nil { headerOf[column] = header }
            } else if !header.isEmpty {
                ignored.append(header)
            }
        }
        let missing = LedgerColumn.required.filter { headerOf[$0] == nil }
        if !missing.isEmpty {
            throw LedgerFileError(
                chinese: "缺少必填列：" + missing.map(\.chineseName).joined(separator: "、"),
                english: "missing required columns: " + missing.map(\.rawValue).joined(separator: ", "))
        }
        var entries: [PersonEntry] = []
        var errors: [RowError] = []
        for row in rows {
            switch parse(row, headerOf: headerOf) {
            case .success(let entry): entries.append(entry)
            case .failure(let rowErrors): errors += rowErrors.errors
            }
        }
        return PersonLedger(
            encoding: encoding, entries: entries, errors: errors, ignoredColumns: ignored, headerOf: headerOf)
    }

    struct RowErrors: Error { let errors: [RowError] }

    /// An ID number that went through a spreadsheet's number format: scientific notation ("1.40403E+17", as a
    /// CSV exported from such a column holds it), or a workbook cell stored as a number with more digits than a
    /// double keeps exactly.
    static func lostDigits(_ text: String, storedAsNumber: Bool) -> Bool {
        let upper = text.uppercased()
        if upper.contains("E"), upper.first?.isNumber == true, Double(upper) != nil { return true }
        return storedAsNumber && text.count { $0.isNumber } > 15
    }

    private static func parse(_ row: LedgerRow, headerOf: [LedgerColumn: String]) -> Result<PersonEntry, RowErrors> {
        var errors: [RowError] = []
        func cell(_ column: LedgerColumn) -> String? {
            guard let header = headerOf[column], let value = row.cells[header], !value.isEmpty else { return nil }
            return value
        }
        func fail(_ column: LedgerColumn, _ chinese: String, _ english: String) {
            errors.append(
                RowError(
                    line: row.line, column: headerOf[column] ?? column.rawValue, chinese: chinese, english: english))
        }
        func value<T>(_ column: LedgerColumn, _ parse: (String) -> T?, _ expected: String) -> T? {
            guard let text = cell(column) else { return nil }
            guard let parsed = parse(text) else {
                fail(
                    column, "无法识别“\(text.prefix(20))”，可填：\(expected)", "'\(text.prefix(20))' is not one of: \(expected)"
                )
                return nil
            }
            return parsed
        }

        var id: ResidentID?
        if let text = cell(.idNumber),
            lostDigits(text, storedAsNumber: headerOf[.idNumber].map(row.numericCells.contains) ?? false)
        {
            fail(
                .idNumber, "身份证号被存成了数字，Excel只保留15位有效数字，号码已失真：请把该列设置为“文本”格式后重新录入",
                "the ID number was stored as a number, and Excel keeps only 15 significant digits, so it is damaged; "
                    + "format the column as Text and enter the numbers again")
        } else if let text = cell(.idNumber) {
            do { id = try ResidentID(text) } catch { fail(.idNumber, error.reason.chinese, error.reason.english) }
        } else {
            fail(.idNumber, "身份证号为空", "ID number is empty")
        }
        let household = cell(.householdNumber)
        if household == nil { fail(.householdNumber, "户编号为空", "household number is empty") }
        let status = value(.status, ValueVocabulary.status, "就业、失业、未在劳动力中")
        if cell(.status) == nil { fail(.status, "就业状态为空", "status is empty") }
        let form = value(.employmentForm, ValueVocabulary.employmentForm, "单位就业、灵活就业、自主创业、公益性岗位")
        let location = value(.workLocation, ValueVocabulary.workLocation, "本地、省内、省外")
        let sector = value(.sector, ValueVocabulary.sector, "国民经济行业门类A–T或其名称")
        let registered = value(.registeredUnemployed, ValueVocabulary.flag, "是、否") ?? false
        let seeking = value(.seekingWork, ValueVocabulary.flag, "是、否") ?? false
        let assisted = value(.assisted, ValueVocabulary.flag, "是、否") ?? false
        let trained = value(.trained, ValueVocabulary.flag, "是、否") ?? false
        let income = value(.incomeBand, ValueVocabulary.incomeBand, "2000以下、2000-3999、4000-5999、6000-7999、8000以上")
        var groups: Set<PersonGroup> = []
        if let text = cell(.groups) {
            for part in text.split(whereSeparator: { "、,，;；|/ ".contains($0) }) where !part.isEmpty {
                if let group = ValueVocabulary.group(String(part)) {
                    groups.insert(group)
                } else {
                    fail(.groups, "人员类别“\(part.prefix(20))”无法识别", "unknown person group '\(part.prefix(20))'")
                }
            }
        }
        guard errors.isEmpty, let id, let household, let status else { return .failure(RowErrors(errors: errors)) }
        return .success(
            PersonEntry(
                line: row.line, id: id, householdNumber: household, status: status, employmentForm: form,
                workLocation: location, sector: sector, registeredUnemployed: registered, groups: groups,
                seekingWork: seeking, assisted: assisted, trained: trained, incomeBand: income))
    }
}

/// The values clerks write, in Chinese or English, mapped to the domain's values through `LedgerVocabulary`.
/// (The numeric codes of MOHRSS's 公共就业服务指标体系 are not accepted yet: no authoritative code list was at hand.)
enum ValueVocabulary {
    static func status(_ text: String) -> EmploymentStatus? {
        LedgerVocabulary.lookup(text, column: "就业状态", as: EmploymentStatus.self)
    }

    static func employmentForm(_ text: String) -> EmploymentForm? {
        LedgerVocabulary.lookup(text, column: "就业形式", as: EmploymentForm.self)
    }

    static func workLocation(_ text: String) -> WorkLocation? {
        LedgerVocabulary.lookup(text, column: "就业地点", as: WorkLocation.self)
    }

    static func flag(_ text: String) -> Bool? { LedgerVocabulary.value(of: text, column: "是否列").map { $0 == "true" } }

    static func group(_ text: String) -> PersonGroup? {
        LedgerVocabulary.lookup(text, column: "人员类别", as: PersonGroup.self)
    }

    static func incomeBand(_ text: String) -> IncomeBand? {
        let plain = text.replacingOccurrences(of: "元", with: "").replacingOccurrences(of: "—", with: "-")
            .replacingOccurrences(of: "～", with: "-").replacingOccurrences(of: "~", with: "-")
        return LedgerVocabulary.lookup(plain, column: "收入档次", as: IncomeBand.self)
    }

    static let sectorNames: [String: Sector] = [
        "农、林、牧、渔业": .a, "农林牧渔业": .a, "采矿业": .b, "制造业": .c, "电力、热力、燃气及水生产和供应业": .d,
        "电力热力燃气及水生产和供应业": .d, "建筑业": .e, "批发和零售业": .f, "交通运输、仓储和邮政业": .g, "交通运输仓储和邮政业": .g,
        "住宿和餐饮业": .h, "信息传输、软件和信息技术服务业": .i, "信息传输软件和信息技术服务业": .i, "金融业": .j, "房地产业": .k,
        "租赁和商务服务业": .l, "科学研究和技术服务业": .m, "水利、环境和公共设施管理业": .n, "水利环境和公共设施管理业": .n,
        "居民服务、修理和其他服务业": .o, "居民服务修理和其他服务业": .o, "教育": .p, "卫生和社会工作": .q, "文化、体育和娱乐业": .r,
        "文化体育和娱乐业": .r, "公共管理、社会保障和社会组织": .s, "公共管理社会保障和社会组织": .s, "国际组织": .t,
    ]

    static func sector(_ text: String) -> Sector? {
        Sector(rawValue: text.uppercased()) ?? sectorNames[text.trimmingCharacters(in: .whitespaces)]
    }
}
