import Domain
import Foundation

/// One meaning a ledger cell can have, and every word clerks write for it.
package struct VocabularyEntry: Sendable {
    /// The column the words are accepted in (its Chinese header).
    package let column: String
    /// The value as the system stores it.
    package let value: String
    /// The words accepted, the preferred one first; compared after trimming and lower-casing.
    package let words: [String]
}

/// The one list of the words the agent accepts in a ledger's coded columns (sectors aside: letters A–T or
/// the GB/T 4754 names). The "Ledger vocabulary" table of docs/operations.md is printed from it by `empmon agent
/// vocabulary`, and a test keeps the two equal.
package enum LedgerVocabulary {
    package static let table: [VocabularyEntry] = [
        // 就业状态
        entry("就业状态", EmploymentStatus.employed, ["就业", "已就业", "在业", "务工", "在岗", "上班", "打工", "employed"]),
        entry("就业状态", EmploymentStatus.unemployed, ["失业", "未就业", "待业", "无业", "失业中", "unemployed"]),
        entry(
            "就业状态", EmploymentStatus.notInLabourForce,
            [
                "未在劳动力中", "不在劳动力中", "非劳动力", "退出劳动力", "在校", "在校生", "退休", "丧失劳动能力", "not_in_labour_force",
                "not in labour force",
            ]),
        // 就业形式
        entry("就业形式", EmploymentForm.employee, ["单位就业", "受雇", "单位招用", "企业就业", "employee"]),
        entry("就业形式", EmploymentForm.flexible, ["灵活就业", "零工", "打零工", "临时工", "flexible"]),
        entry(
            "就业形式", EmploymentForm.selfEmployed,
            ["自主创业", "创业", "个体经营", "个体工商户", "个体", "自雇", "self_employed", "self-employed"]),
        entry("就业形式", EmploymentForm.publicWelfarePost, ["公益性岗位", "公益岗位", "公益岗", "公益性岗位安置", "public_welfare_post"]),
        // 就业地点
        entry("就业地点", WorkLocation.local, ["本地", "县内", "本县", "就地就近", "乡镇内", "本乡镇", "local"]),
        entry(
            "就业地点", WorkLocation.inProvince, ["省内", "县外省内", "省内县外", "市外省内", "市内县外", "外县", "in_province", "in-province"]),
        entry("就业地点", WorkLocation.outOfProvince, ["省外", "外省", "出省", "省外务工", "out_of_province", "out-of-province"]),
        // 人员类别
        entry("人员类别", PersonGroup.collegeGraduate, ["高校毕业生", "毕业生", "大学毕业生", "college_graduate"]),
        entry("人员类别", PersonGroup.ruralLabour, ["农村劳动力", "农民工", "农村转移劳动力", "rural_labour"]),
        entry("人员类别", PersonGroup.hardToEmploy, ["就业困难人员", "困难人员", "就业困难", "hard_to_employ"]),
        entry("人员类别", PersonGroup.povertyAlleviated, ["脱贫人口", "脱贫劳动力", "脱贫户", "poverty_alleviated"]),
        entry("人员类别", PersonGroup.disabled, ["残疾人", "disabled"]),
        entry("人员类别", PersonGroup.veteran, ["退役军人", "veteran"]),
        // 收入档次 (元 and the dash variants are removed before comparing)
        entry("收入档次", IncomeBand.below2000, ["2000以下", "<2000", "below_2000"]),
        entry("收入档次", IncomeBand.from2000To3999, ["2000-3999", "2000_3999"]),
        entry("收入档次", IncomeBand.from4000To5999, ["4000-5999", "4000_5999"]),
        entry("收入档次", IncomeBand.from6000To7999, ["6000-7999", "6000_7999"]),
        entry("收入档次", IncomeBand.atLeast8000, ["8000以上", "8000及以上", ">=8000", "8000_plus", "8000+"]),
        // 是/否 columns: 登记失业, 求职, 帮扶, 培训
        VocabularyEntry(column: "是否列", value: "true", words: ["是", "有", "√", "✓", "已", "y", "yes", "true", "1"]),
        VocabularyEntry(column: "是否列", value: "false", words: ["否", "无", "×", "✗", "未", "n", "no", "false", "0"]),
    ]

    private static func entry<Value: RawRepresentable<String>>(_ column: String, _ value: Value, _ words: [String])
        -> VocabularyEntry
    {
        VocabularyEntry(column: column, value: value.rawValue, words: words)
    }

    /// The table as Markdown, for docs/operations.md.
    package static var markdown: String {
        var lines = ["| column | value | accepted words |", "|---|---|---|"]
        for entry in table {
            lines.append(
                "| \(entry.column) | `\(entry.value)` | \(entry.words.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: "、")) |"
            )
        }
        return lines.joined(separator: "\n")
    }

    static func lookup<Value: RawRepresentable<String>>(_ text: String, column: String, as: Value.Type) -> Value? {
        value(of: text, column: column).flatMap(Value.init(rawValue:))
    }

    /// The stored value a word means in `column`, if the word is in the table.
    static func value(of text: String, column: String) -> String? { index[column]?[normalized(text)] }

    private static let index: [String: [String: String]] = {
        var index: [String: [String: String]] = [:]
        for entry in table {
            for word in entry.words { index[entry.column, default: [:]][normalized(word)] = entry.value }
        }
        return index
    }()

    static func normalized(_ text: String) -> String {
        text.trimmingCharacters(in: .whitespaces).lowercased()
    }
}
