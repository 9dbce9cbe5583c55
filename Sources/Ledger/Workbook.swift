import Foundation
import XMLCoder
import ZIPFoundation

/// One cell of a worksheet: its text as the clerk sees it, and whether Excel stored it as a number.
package struct WorkbookCell: Sendable, Equatable {
    package let text: String
    package let isNumber: Bool
}

/// The first worksheet of an `.xlsx` workbook (Office Open XML, as Excel and WPS write it), as rows of cells.
///
/// Reads shared strings (plain and rich text), inline strings, numbers, booleans and formula results. The
/// ZIP container is read by ZIPFoundation and the XML by XMLCoder. Every part is size-capped, so a crafted
/// file (a ZIP bomb) is refused instead of filling memory.
package enum Workbook {
    /// Largest uncompressed part accepted: far above a county's monthly ledger.
    static let partLimit = 256 << 20

    /// The rows of the first sheet: 1-based row number (as Excel shows it) and cells by 0-based column.
    package static func firstSheet(_ bytes: [UInt8]) throws(LedgerFileError) -> [(
        line: Int, cells: [Int: WorkbookCell]
    )] {
        try WorkbookStreams.checkEveryStreamEnds(bytes, partLimit: partLimit)
        do {
            let archive = try openArchive(bytes)
            let sheetPath = try firstSheetPath(archive)
            let shared = try archive["xl/sharedStrings.xml"].map { try decode(SharedStrings.self, part(archive, $0)) }
            let sharedTexts = shared?.items.map(\.text) ?? []
            guard let sheetEntry = archive[sheetPath] else {
                throw LedgerFileError(
                    chinese: "工作簿缺少第一个工作表（\(sheetPath)）", english: "the workbook has no first sheet (\(sheetPath))")
            }
            let sheet = try decode(Worksheet.self, part(archive, sheetEntry))
            var rows: [(line: Int, cells: [Int: WorkbookCell])] = []
            var previousLine = 0
            for row in sheet.sheetData.rows {
                let line = row.r ?? previousLine + 1
                previousLine = line
                var cells: [Int: WorkbookCell] = [:]
                var previousColumn = -1
                for cell in row.cells {
                    let column = cell.r.flatMap(columnIndex) ?? previousColumn + 1
                    previousColumn = column
                    guard let value = try value(of: cell, sharedTexts: sharedTexts, line: line) else { continue }
                    cells[column] = value
                }
                rows.append((line, cells))
            }
            return rows
        } catch let error as LedgerFileError {
            throw error
        } catch {
            throw LedgerFileError(
                chinese: "无法读取xlsx工作簿（文件损坏或不是Excel文件）：\(error)",
                english: "cannot read the xlsx workbook (damaged, or not an Excel file): \(error)")
        }
    }

    /// The workbook as a ZIP archive read from a file, not from memory. ZIPFoundation's in-memory archive traps
    /// when a damaged directory makes it seek past the end and read (its `readData` computes a negative length;
    /// found by the ledger fuzz target, Fuzz/regressions/ledger), where reading a file past its end simply reads
    /// nothing. The file is private (mode 0600, in /dev/shm where there is one, so in memory) and is unlinked as
    /// soon as the archive has opened it.
    private static func openArchive(_ bytes: [UInt8]) throws -> Archive {
        let folder = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        var template = Array((folder + "/empmon-workbook-XXXXXX").utf8CString)
        let descriptor = mkstemp(&template)
        guard descriptor >= 0 else {
            throw LedgerFileError(
                chinese: "无法为读取工作簿创建临时文件", english: "cannot create a temporary file to read the workbook in")
        }
        let path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { unlink(path) }
        let written = bytes.withUnsafeBytes { buffer -> Bool in
            guard let base = buffer.baseAddress else { return true }
            var offset = 0
            while offset < buffer.count {
                let count = write(descriptor, base + offset, buffer.count - offset)
                if count <= 0 { return false }
                offset += count
            }
            return true
        }
        close(descriptor)
        guard written else {
            throw LedgerFileError(
                chinese: "无法为读取工作簿写入临时文件", english: "cannot write the temporary file to read the workbook in")
        }
        return try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
    }

    /// Whether the bytes start like a ZIP container (every `.xlsx` does).
    package static func looksLikeWorkbook(_ bytes: [UInt8]) -> Bool { bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) }

    private static func value(of cell: Cell, sharedTexts: [String], line: Int) throws(LedgerFileError) -> WorkbookCell?
    {
        switch cell.t ?? "n" {
        case "s":
            guard let text = cell.v, let index = Int(text), sharedTexts.indices.contains(index) else {
                throw LedgerFileError(
                    chinese: "第\(line)行的单元格\(cell.r ?? "")引用了不存在的共享字符串",
                    english: "cell \(cell.r ?? "") on row \(line) refers to a shared string that does not exist")
            }
            return WorkbookCell(text: sharedTexts[index], isNumber: false)
        case "inlineStr": return cell.inline.map { WorkbookCell(text: $0.text, isNumber: false) }
        case "str": return cell.v.map { WorkbookCell(text: $0, isNumber: false) }
        case "b": return cell.v.map { WorkbookCell(text: $0 == "1" ? "是" : "否", isNumber: false) }
        case "e": return cell.v.map { WorkbookCell(text: $0, isNumber: false) }
        default: return cell.v.map { WorkbookCell(text: displayed(number: $0), isNumber: true) }
        }
    }

    /// A stored number as a clerk would read it: integers without ".0", the rest as stored.
    static func displayed(number text: String) -> String {
        if let value = Double(text), value.isFinite, value == value.rounded(), abs(value) < 1e15 {
            return String(Int64(value))
        }
        return text
    }

    /// "C12" → 2.
    static func columnIndex(_ reference: String) -> Int? {
        var index = 0
        var letters = 0
        for scalar in reference.unicodeScalars {
            guard scalar.value >= 65, scalar.value <= 90 else { break }
            index = index * 26 + Int(scalar.value - 64)
            letters += 1
            guard letters <= 3 else { return nil }
        }
        return letters == 0 ? nil : index - 1
    }

    private static func firstSheetPath(_ archive: Archive) throws -> String {
        guard let workbookEntry = archive["xl/workbook.xml"] else {
            throw LedgerFileError(
                chinese: "不是Excel工作簿：缺少 xl/workbook.xml", english: "not an Excel workbook: xl/workbook.xml is missing")
        }
        let workbook = try decode(WorkbookPart.self, part(archive, workbookEntry))
        guard let first = workbook.sheets.sheet.first else {
            throw LedgerFileError(chinese: "工作簿中没有工作表", english: "the workbook has no sheets")
        }
        if let relsEntry = archive["xl/_rels/workbook.xml.rels"], let id = first.id {
            let relationships = try decode(Relationships.self, part(archive, relsEntry))
            if let target = relationships.relationship.first(where: { $0.id == id })?.target {
                return target.hasPrefix("/") ? String(target.dropFirst()) : "xl/" + target
            }
        }
        return "xl/worksheets/sheet1.xml"
    }

    private static func part(_ archive: Archive, _ entry: Entry) throws -> Data {
        guard entry.uncompressedSize <= UInt64(partLimit) else {
            throw LedgerFileError(
                chinese: "工作簿中的 \(entry.path) 过大", english: "\(entry.path) in the workbook is too large")
        }
        var data = Data()
        _ = try archive.extract(entry, skipCRC32: false) { chunk in
            // The declared size can lie; count what really comes out.
            guard data.count + chunk.count <= partLimit else {
                throw LedgerFileError(
                    chinese: "工作簿中的 \(entry.path) 过大", english: "\(entry.path) in the workbook is too large")
            }
            data.append(chunk)
        }
        return data
    }

    /// Every part must be UTF-8, as Excel and WPS write them. Foundation's XMLParser traps on element names that
    /// are not (found by the ledger fuzz target: Fuzz/regressions/ledger/xml-name-not-utf8), so such a part is
    /// refused before it reaches the parser.
    private static func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws -> T {
        guard String(validating: data, as: UTF8.self) != nil else {
            throw LedgerFileError(chinese: "工作簿中的XML部件不是UTF-8编码", english: "a part of the workbook is not UTF-8 XML")
        }
        let decoder = XMLDecoder()
        decoder.shouldProcessNamespaces = true
        return try decoder.decode(type, from: data)
    }

    // MARK: The parts of SpreadsheetML read here.

    private struct WorkbookPart: Decodable {
        struct Sheets: Decodable {
            var sheet: [Sheet] = []
            enum CodingKeys: String, CodingKey { case sheet }
            init(from decoder: any Decoder) throws {
                sheet =
                    try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent([Sheet].self, forKey: .sheet) ?? []
            }
        }
        struct Sheet: Decodable {
            var name: String?
            var id: String?
        }
        var sheets: Sheets
    }

    private struct Relationships: Decodable {
        struct Relationship: Decodable {
            var id: String
            var target: String
            enum CodingKeys: String, CodingKey {
                case id = "Id"
                case target = "Target"
            }
        }
        var relationship: [Relationship]
        enum CodingKeys: String, CodingKey { case relationship = "Relationship" }
        init(from decoder: any Decoder) throws {
            relationship =
                try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(
                    [Relationship].self, forKey: .relationship) ?? []
        }
    }

    /// A text run's `<t>`, which may carry `xml:space="preserve"`.
    private struct Text: Decodable {
        var value: String
        enum CodingKeys: String, CodingKey { case value = "" }
        init(from decoder: any Decoder) throws {
            if let plain = try? decoder.singleValueContainer().decode(String.self) {
                value = plain
            } else {
                value =
                    try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(String.self, forKey: .value) ?? ""
            }
        }
    }

    /// A string item: plain `<t>`, or rich text runs `<r><t>`; phonetic runs (`<rPh>`) are not part of it.
    private struct StringItem: Decodable {
        struct Run: Decodable { var t: Text? }
        var t: Text?
        var r: [Run]?
        var text: String { t?.value ?? (r ?? []).map { $0.t?.value ?? "" }.joined() }
    }

    private struct SharedStrings: Decodable {
        var items: [StringItem]
        enum CodingKeys: String, CodingKey { case items = "si" }
        init(from decoder: any Decoder) throws {
            items =
                try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent([StringItem].self, forKey: .items) ?? []
        }
    }

    private struct Cell: Decodable {
        var r: String?
        var t: String?
        var v: String?
        var inline: StringItem?
        enum CodingKeys: String, CodingKey {
            case r, t, v
            case inline = "is"
        }
    }

    private struct Row: Decodable {
        var r: Int?
        var cells: [Cell]
        enum CodingKeys: String, CodingKey {
            case r
            case cells = "c"
        }
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            r = try? container.decodeIfPresent(Int.self, forKey: .r)
            cells = try container.decodeIfPresent([Cell].self, forKey: .cells) ?? []
        }
    }

    private struct Worksheet: Decodable {
        struct SheetData: Decodable {
            var rows: [Row]
            enum CodingKeys: String, CodingKey { case rows = "row" }
            init(from decoder: any Decoder) throws {
                rows = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent([Row].self, forKey: .rows) ?? []
            }
        }
        var sheetData: SheetData
    }
}
