import Domain
import Foundation

/// A field of the person ledger that the agent uses. Every other column of a real 花名册 (姓名, 电话,
/// 现住地址 …) is ignored: it is never read into a record, so it can never be sent.
public enum LedgerColumn: String, Sendable, CaseIterable {
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
public struct PersonEntry: Sendable {
    public let line: Int
    public let id: ResidentID
    public let householdNumber: String
    public let status: EmploymentStatus
    public let employmentForm: EmploymentForm?
    public let workLocation: WorkLocation?
    public let sector: Sector?
    public let registeredUnemployed: Bool
    public let groups: Set<PersonGroup>
    public let seekingWork: Bool
    public let assisted: Bool
    public let trained: Bool
    public let incomeBand: IncomeBand?
}

/// What is wrong with one cell of a ledger, for the clerk to fix: row (file line), column as headed in
/// the file, and the reason. Never repeats an ID number.
public struct RowError: Error, Sendable, Hashable, CustomStringConvertible {
    public let line: Int
    public let column: String
    public let chinese: String
    public let english: String

    public init(line: Int, column: String, chinese: String, english: String) {
        self.line = line
        self.column = column
        self.chinese = chinese
        self.english = english
    }

    public var description: String { "第\(line)行 [\(column)]: \(chinese) — line \(line) [\(column)]: \(english)" }
}

/// The parsed ledger: good entries, every row error, and what was ignored.
public struct PersonLedger: Sendable {
    public let encoding: LedgerEncoding
    public let entries: [PersonEntry]
    public let errors: [RowError]
    /// Columns the agent does not use (names, phones, addresses …), listed so the clerk knows they stay home.
    public let ignoredColumns: [String]
    /// The header each used column had in the file, to name it in messages.
    public let headerOf: [LedgerColumn: String]

    /// Reads a person ledger. File-level problems (encoding, missing required columns) throw; row
    /// problems are collected, and the good rows are kept.
    public static func read(_ bytes: [UInt8], format: LedgerFormat) throws(LedgerFileError) -> PersonLedger {
        let (text, encoding) = try LedgerText.decode(bytes)
        let (headers, rows) = try LedgerTable.parse(text, format: format)
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
        return PersonLedger(encoding: encoding, entries: entries, errors: errors, ignoredColumns: ignored, headerOf: headerOf)
    }

    struct RowErrors: Error { let errors: [RowError] }

    private static func parse(_ row: LedgerRow, headerOf: [LedgerColumn: String]) -> Result<PersonEntry, RowErrors> {
        var errors: [RowError] = []
        func cell(_ column: LedgerColumn) -> String? {
            guard let header = headerOf[column], let value = row.cells[header], !value.isEmpty else { return nil }
            return value
        }
        func fail(_ column: LedgerColumn, _ chinese: String, _ english: String) {
            errors.append(RowError(line: row.line, column: headerOf[column] ?? column.rawValue, chinese: chinese, english: english))
        }
        func value<T>(_ column: LedgerColumn, _ parse: (String) -> T?, _ expected: String) -> T? {
            guard let text = cell(column) else { return nil }
            guard let parsed = parse(text) else {
                fail(column, "无法识别“\(text.prefix(20))”，可填：\(expected)", "'\(text.prefix(20))' is not one of: \(expected)")
                return nil
            }
            return parsed
        }

        var id: ResidentID?
        if let text = cell(.idNumber) {
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

/// The values clerks write, in Chinese or English, mapped to the domain's values. (The numeric codes of
/// MOHRSS's 公共就业服务指标体系 are not accepted yet: no authoritative code list was at hand.)
enum ValueVocabulary {
    static func status(_ text: String) -> EmploymentStatus? {
        switch normalized(text) {
        case "就业", "已就业", "在业", "employed": .employed
        case "失业", "未就业", "unemployed": .unemployed
        case "未在劳动力中", "不在劳动力中", "非劳动力", "退出劳动力", "not_in_labour_force", "not in labour force": .notInLabourForce
        default: nil
        }
    }

    static func employmentForm(_ text: String) -> EmploymentForm? {
        switch normalized(text) {
        case "单位就业", "受雇", "单位招用", "employee": .employee
        case "灵活就业", "flexible": .flexible
        case "自主创业", "个体经营", "个体", "自雇", "self_employed", "self-employed": .selfEmployed
        case "公益性岗位", "公益岗位", "公益性岗位安置", "public_welfare_post": .publicWelfarePost
        default: nil
        }
    }

    static func workLocation(_ text: String) -> WorkLocation? {
        switch normalized(text) {
        case "本地", "县内", "就地就近", "乡镇内", "local": .local
        case "省内", "市外省内", "县外省内", "in_province", "in-province": .inProvince
        case "省外", "外省", "out_of_province", "out-of-province": .outOfProvince
        default: nil
        }
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

    static func flag(_ text: String) -> Bool? {
        switch normalized(text) {
        case "是", "有", "√", "y", "yes", "true", "1": true
        case "否", "无", "×", "n", "no", "false", "0": false
        default: nil
        }
    }

    static func group(_ text: String) -> PersonGroup? {
        switch normalized(text) {
        case "高校毕业生", "毕业生", "college_graduate": .collegeGraduate
        case "农村劳动力", "农民工", "rural_labour": .ruralLabour
        case "就业困难人员", "困难人员", "hard_to_employ": .hardToEmploy
        case "脱贫人口", "脱贫劳动力", "脱贫户", "poverty_alleviated": .povertyAlleviated
        case "残疾人", "disabled": .disabled
        case "退役军人", "veteran": .veteran
        default: nil
        }
    }

    static func incomeBand(_ text: String) -> IncomeBand? {
        switch normalized(text).replacingOccurrences(of: "元", with: "").replacingOccurrences(of: "—", with: "-")
            .replacingOccurrences(of: "～", with: "-").replacingOccurrences(of: "~", with: "-")
        {
        case "2000以下", "<2000", "below_2000": .below2000
        case "2000-3999", "2000_3999": .from2000To3999
        case "4000-5999", "4000_5999": .from4000To5999
        case "6000-7999", "6000_7999": .from6000To7999
        case "8000以上", "8000及以上", ">=8000", "8000_plus", "8000+": .atLeast8000
        default: nil
        }
    }

    private static func normalized(_ text: String) -> String {
        text.trimmingCharacters(in: .whitespaces).lowercased()
    }
}
