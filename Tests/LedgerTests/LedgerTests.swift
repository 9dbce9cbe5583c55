import Domain
import Foundation
import Ledger
import TestSupport
import Testing

@Suite("Reading grassroots ledgers")
struct LedgerTests {
    static let gb18030 = String.Encoding(rawValue: 0x8000_0632)

    let builder = SubmissionBuilder(
        unit: Fixtures.village, period: Period("2024-10")!, agentID: "agent-140403001001",
        pseudonymizer: Pseudonymizer(cityKey: Array("city key".utf8)), signer: .hmac(RecordSigner(secret: [7, 7, 7])),
        validator: RecordValidator(topology: Fixtures.topology, latestPeriod: Period("2024-11")!))

    /// A 花名册 as a clerk keeps it: extra columns (序号, 姓名, 电话, 现住地址), Chinese headers and values.
    static func ledger(_ rows: [String]) -> String {
        (["序号,姓名,身份证号,户编号,联系电话,现住地址,就业状态,就业形式,就业地点,行业,登记失业,人员类别,求职,帮扶,培训,收入档次"] + rows)
            .joined(separator: "\r\n") + "\r\n"
    }

    static let good1 = Fixtures.residentID("14040319900307123")
    static let good2 = Fixtures.residentID("14040319851231002")
    static let good3 = Fixtures.residentID("14040320000615004")

    @Test("A GBK CSV with Chinese headers and a few bad rows: the exact errors, and the good rows kept apart")
    func gbkWithErrors() throws {
        let text = Self.ledger([
            "1,张三,\(Self.good1),H001,13800000000,长治市潞州区,就业,单位就业,本地,制造业,否,农村劳动力、高校毕业生,否,否,是,4000-5999",
            "2,李四,\(String(Self.good2.dropLast()))9,H002,13900000000,\"长治市,潞州区\",失业,,,,是,就业困难人员,是,是,否,",
            "3,王五,\(Self.good3),H003,,,不详,,,,否,,否,否,否,",
            "4,赵六,\(Self.good2),H004,,,失业,单位就业,,,是,,是,否,否,",
            "5,钱七,\(Self.good2),H005,,,就业,灵活就业,省外,Z,否,外星人,否,否,否,",
        ])
        let bytes = try #require(text.data(using: Self.gb18030))
        #expect(String(data: bytes, encoding: .utf8) == nil, "the fixture really is GBK")
        let ledger = try PersonLedger.read(Array(bytes), format: .csv)
        #expect(ledger.encoding == .gb18030)
        #expect(ledger.ignoredColumns == ["序号", "姓名", "联系电话", "现住地址"])
        let built = builder.build(ledger, reportedAtMilliseconds: 1)
        let errors = built.errors.map { "\($0.line) \($0.column) \($0.english)" }
        #expect(
            errors == [
                "3 身份证号 the ID number's check digit does not match; a digit is probably mistyped",
                "4 就业状态 '不详' is not one of: 就业、失业、未在劳动力中",
                "5 就业形式 employment form given for a person who is not employed",
                "6 人员类别 unknown person group '外星人'",
                "6 行业 'Z' is not one of: 国民经济行业门类A–T或其名称",
            ])
        #expect(built.records.map(\.line) == [2])
        let record = try #require(built.records.first?.record)
        #expect(record.status == .employed && record.employmentForm == .employee && record.sector == .c)
        #expect(
            record.groups == [.ruralLabour, .collegeGraduate] && record.trained && record.incomeBand == .from4000To5999)
        #expect(record.birthYear == 1990 && record.sex == .male)
        #expect(RecordSigner(secret: [7, 7, 7]).isValid(record))
        #expect(
            built.errors.allSatisfy {
                !$0.description.contains(Self.good2) && !$0.description.contains(String(Self.good2.dropLast()))
            })
    }

    @Test("UTF-8 with a BOM, English headers and values, quoted cells with line breaks")
    func utf8WithBOM() throws {
        let text =
            "id_number,household_number,status,employment_form,work_location,sector,groups,note\n"
            + "\(Self.good1),H1,employed,flexible,in_province,F,\"veteran,disabled\",\"two\nlines\"\n"
            + "\(Self.good2),H2,not_in_labour_force,,,,,\n"
        let ledger = try PersonLedger.read([0xEF, 0xBB, 0xBF] + Array(text.utf8), format: .csv)
        #expect(ledger.encoding == .utf8WithBOM)
        #expect(ledger.errors.isEmpty)
        #expect(ledger.entries.map(\.line) == [2, 4])
        #expect(ledger.entries.first?.groups == [.veteran, .disabled])
        #expect(ledger.entries.first?.workLocation == .inProvince)
    }

    @Test("JSON lines with the English column names")
    func jsonLines() throws {
        let text = """
            {"id_number": "\(Self.good1)", "household_number": "H1", "status": "unemployed", "registered_unemployed": true, "seeking_work": "是"}

            {"id_number": "\(Self.good3)", "household_number": "H3", "status": "employed", "employment_form": "self_employed", "work_location": "local", "groups": ["rural_labour"]}
            """
        let ledger = try PersonLedger.read(Array(text.utf8), format: LedgerFormat(path: "october.jsonl"))
        #expect(ledger.errors.isEmpty)
        #expect(ledger.entries.count == 2)
        #expect(ledger.entries[0].registeredUnemployed && ledger.entries[0].seekingWork)
        #expect(ledger.entries[1].groups == [.ruralLabour] && ledger.entries[1].line == 3)
    }

    @Test("A file without the required columns, an empty file and a broken quote are refused whole")
    func fileProblems() {
        #expect(throws: LedgerFileError.self) { try PersonLedger.read(Array("姓名,电话\n张三,1\n".utf8), format: .csv) }
        #expect(throws: LedgerFileError.self) { try PersonLedger.read([], format: .csv) }
        #expect(throws: LedgerFileError.self) {
            try PersonLedger.read(Array("身份证号,户编号,就业状态\n\"x,H,就业\n".utf8), format: .csv)
        }
        do {
            _ = try PersonLedger.read(Array("姓名,就业状态\n".utf8), format: .csv)
        } catch {
            #expect(error.chinese.contains("身份证号") && error.chinese.contains("户编号"))
        }
    }

    @Test("The same person twice in one file is an error on the second row")
    func duplicatePerson() throws {
        let text = Self.ledger([
            "1,甲,\(Self.good1),H1,,,失业,,,,是,,是,否,否,",
            "2,甲,\(Self.good1.lowercased()),H1,,,失业,,,,是,,是,否,否,",
        ])
        let built = builder.build(try PersonLedger.read(Array(text.utf8), format: .csv), reportedAtMilliseconds: 1)
        #expect(built.records.count == 1)
        #expect(built.errors.map(\.line) == [3])
        #expect(built.errors.first?.english.contains("line 2") == true)
    }
}
