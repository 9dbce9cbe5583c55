import DevStack
import Domain
import Foundation
import Simulator
import TestSupport
import Testing

@testable import Ledger

/// The largest simulated village ledger of one county's month, as the simulator writes it (CSV).
func simulatedVillageLedger() throws -> String {
    var options = SimulationOptions()
    options.months = 1
    options.scale = 0.02
    options.seed = 11
    options.counties = [DivisionCode("140403000000")!]
    options.malformedShare = 0.03
    var found: String?
    let out = FileManager.default.temporaryDirectory.appendingPathComponent(
        "empmon-xlsx-\(UUID().uuidString.prefix(8))"
    ).path
    defer { try? FileManager.default.removeItem(atPath: out) }
    try SimulationRun.run(
        topology: Fixtures.topology, options: options, out: out,
        deliver: { file, _ in
            if file.kind == "person", file.contents.count > (found?.count ?? 0) { found = file.contents }
        })
    return try #require(found)
}

/// The parts of a ledger that become records: every good entry's fields, and every row error.
/// Lines are shifted by `lineOffset` (a workbook's title row moves every row down by one).
func recordsOf(_ ledger: PersonLedger, lineOffset: Int = 0) -> [String] {
    ledger.entries.map {
        "\($0.line + lineOffset)|\($0.id.birthYear)|\($0.householdNumber)|\($0.status)|\(String(describing: $0.employmentForm))|"
            + "\(String(describing: $0.workLocation))|\(String(describing: $0.sector))|\($0.registeredUnemployed)|\($0.groups.sorted())|"
            + "\($0.seekingWork)|\($0.assisted)|\($0.trained)|\(String(describing: $0.incomeBand))"
    } + ledger.errors.map { "\($0.line + lineOffset) \($0.column) \($0.english)" }
}

func csvRows(_ text: String) -> [[String]] {
    text.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
}

@Suite("Ledgers from Excel (.xlsx)")
struct WorkbookLedgerTests {
    @Test(
        "A simulated village ledger as xlsx (inline strings, a merged title row above the header) gives exactly its CSV's records"
    )
    func inlineStringWorkbookEqualsCSV() throws {
        let csv = try simulatedVillageLedger()
        let rows = csvRows(csv)
        let workbook = try WorkbookWriter.xlsx(
            title: "和平社区2024年1月就业监测台账", header: rows[0], rows: Array(rows.dropFirst()), textColumns: [2])
        let fromCSV = try PersonLedger.read(Array(csv.utf8), format: .csv)
        let fromWorkbook = try PersonLedger.read(workbook, format: .xlsx)
        #expect(fromWorkbook.encoding == .xlsx)
        #expect(fromCSV.entries.count > 20)
        #expect(
            !fromCSV.errors.isEmpty, "the simulated ledger has a malformed row, which the workbook must report alike")
        #expect(recordsOf(fromWorkbook) == recordsOf(fromCSV, lineOffset: 1))
        #expect(fromWorkbook.ignoredColumns == fromCSV.ignoredColumns)
    }

    @Test("The same ledger saved by openpyxl (shared strings, numbers) gives exactly its CSV's records")
    func sharedStringWorkbookEqualsCSV() throws {
        let python = try #require(
            ProcessInfo.processInfo.environment["EMPMON_TEST_PYTHON"],
            "scripts/test.sh sets EMPMON_TEST_PYTHON to a Python with openpyxl")
        let csv = try simulatedVillageLedger()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "empmon-openpyxl-\(UUID().uuidString.prefix(8))"
        ).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Data(csv.utf8).write(to: URL(fileURLWithPath: folder + "/ledger.csv"))
        // Text cells as shared strings; the row number (序号) as a real number cell, as Excel keeps it.
        let script = """
            import csv, openpyxl, sys
            rows = list(csv.reader(open(sys.argv[1], encoding="utf-8")))
            book = openpyxl.Workbook()
            sheet = book.active
            for index, row in enumerate(rows):
                sheet.append([int(cell) if index > 0 and column == 0 and cell.isdigit() else cell for column, cell in enumerate(row)])
            book.save(sys.argv[2])
            """
        try Data(script.utf8).write(to: URL(fileURLWithPath: folder + "/make.py"))
        let made = try ChildProcess.run(python, [folder + "/make.py", folder + "/ledger.csv", folder + "/ledger.xlsx"])
        #expect(made.status == 0, "\(made.output)")
        let workbook = try #require(FileManager.default.contents(atPath: folder + "/ledger.xlsx"))
        let fromWorkbook = try PersonLedger.read(Array(workbook), format: .xlsx)
        let fromCSV = try PersonLedger.read(Array(csv.utf8), format: .csv)
        #expect(recordsOf(fromWorkbook) == recordsOf(fromCSV))
    }

    @Test("An ID number stored as a number is refused with a row error that says to format the column as text")
    func numericIDNumber() throws {
        let good = Fixtures.residentID("14040319900307123")
        // Excel keeps 15 significant digits: the stored number is not the ID any more.
        let damaged = String(good.prefix(15)) + "000"
        let sheet = """
            <?xml version="1.0" encoding="UTF-8"?>
            <worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
            <row r="1"><c r="A1" t="inlineStr"><is><t>身份证号</t></is></c><c r="B1" t="inlineStr"><is><t>户编号</t></is></c><c r="C1" t="inlineStr"><is><t>就业状态</t></is></c></row>
            <row r="2"><c r="A2"><v>\(damaged)</v></c><c r="B2" t="inlineStr"><is><t>H1</t></is></c><c r="C2" t="inlineStr"><is><t>就业</t></is></c></row>
            <row r="3"><c r="A3" t="inlineStr"><is><t>\(good)</t></is></c><c r="B3"><v>2</v></c><c r="C3" t="inlineStr"><is><t>待业</t></is></c></row>
            </sheetData></worksheet>
            """
        let ledger = try PersonLedger.read(try workbook(sheet: sheet), format: .xlsx)
        #expect(
            ledger.entries.map(\.line) == [3],
            "the text ID and the numeric household number are fine; 待业 means unemployed")
        #expect(ledger.entries.first?.status == .unemployed && ledger.entries.first?.householdNumber == "2")
        let error = try #require(ledger.errors.first)
        #expect(ledger.errors.count == 1 && error.line == 2 && error.column == "身份证号")
        #expect(error.chinese.contains("文本") && error.english.contains("format the column as Text"))
        #expect(!error.description.contains(damaged.prefix(10)), "no part of the number is repeated")
    }

    @Test("A GBK CSV in which Excel turned ID numbers into scientific notation gives a clear row error")
    func scientificNotationInGBKCSV() throws {
        let text =
            "姓名,身份证号,户编号,就业状态\r\n张三,1.40403E+17,H1,就业\r\n李四,\(Fixtures.residentID("14040319851231002")),H2,无业\r\n"
        let bytes = try #require(text.data(using: String.Encoding(rawValue: 0x8000_0632)))
        let ledger = try PersonLedger.read(Array(bytes), format: .csv)
        #expect(ledger.encoding == .gb18030)
        #expect(ledger.entries.map(\.line) == [3] && ledger.entries.first?.status == .unemployed)
        let error = try #require(ledger.errors.first)
        #expect(error.line == 2 && error.column == "身份证号" && error.english.contains("format the column as Text"))
    }

    @Test("A file that is not a workbook, or a damaged one, is a clear file error, never a crash")
    func damagedWorkbooks() throws {
        for bytes in [
            Array("PK\u{3}\u{4}not really a zip".utf8), [UInt8](repeating: 0, count: 10), Array("plain text".utf8),
        ] {
            #expect(throws: LedgerFileError.self) { try PersonLedger.read(bytes, format: .xlsx) }
        }
        let valid = try LedgerTemplate.xlsx()
        var truncated = valid
        truncated.removeLast(valid.count / 2)
        #expect(throws: LedgerFileError.self) { try PersonLedger.read(truncated, format: .xlsx) }
    }

    @Test("The blank template has the headers the agent reads, the title row, and ID numbers formatted as text")
    func template() throws {
        let rows = try Workbook.firstSheet(try LedgerTemplate.xlsx())
        #expect(rows.count == 2 && rows[0].cells.count == 1)
        #expect((0..<LedgerTemplate.header.count).map { rows[1].cells[$0]?.text } == LedgerTemplate.header)
        let ledger = try PersonLedger.read(try LedgerTemplate.xlsx(), format: .xlsx)
        #expect(ledger.entries.isEmpty && ledger.errors.isEmpty)
        let csv = try PersonLedger.read(LedgerTemplate.csv(), format: .csv)
        #expect(csv.encoding == .utf8WithBOM && csv.ignoredColumns == ["姓名"])
    }

    /// A workbook whose first sheet is `sheet`, the other parts as WorkbookWriter writes them.
    func workbook(sheet: String) throws -> [UInt8] { try WorkbookWriter.package(sheet: sheet) }
}

@Suite("The ledger vocabulary")
struct VocabularyTests {
    @Test("Clerks' common words are accepted: 待业/无业 → 失业, 务工/在岗 → 就业, 县外省内 → 省内, …")
    func synonyms() throws {
        let id = Fixtures.residentID("14040319900307123")
        for (written, status, location) in [
            ("待业", EmploymentStatus.unemployed, ""), ("无业", .unemployed, ""), ("务工", .employed, "县外省内"),
            ("在岗", .employed, "外省"),
        ] {
            let text = "身份证号,户编号,就业状态,就业地点\n\(id),H1,\(written),\(location)\n"
            let ledger = try PersonLedger.read(Array(text.utf8), format: .csv)
            #expect(ledger.errors.isEmpty, "\(written): \(ledger.errors)")
            #expect(ledger.entries.first?.status == status)
            if location == "县外省内" { #expect(ledger.entries.first?.workLocation == .inProvince) }
            if location == "外省" { #expect(ledger.entries.first?.workLocation == .outOfProvince) }
        }
    }

    @Test("No word means two things in one column")
    func unambiguous() {
        var seen: [String: String] = [:]
        for entry in LedgerVocabulary.table {
            for word in entry.words {
                let key = entry.column + "|" + word.lowercased()
                #expect(
                    seen[key] == nil || seen[key] == entry.value,
                    "\(key) means both \(seen[key] ?? "") and \(entry.value)")
                seen[key] = entry.value
            }
        }
    }

    @Test("The operations guide's vocabulary table is the code's table")
    func operationsGuideShowsTheTable() throws {
        let guide = try String(
            contentsOfFile: Fixtures.topologyDirectory + "/../docs/operations.md", encoding: .utf8)
        #expect(
            guide.contains(LedgerVocabulary.markdown),
            "run `empmon agent vocabulary` and paste its output into docs/operations.md")
    }
}
