import Foundation
import ZIPFoundation

/// Writes a one-sheet `.xlsx` workbook: an optional title row merged across the columns, a header row, and
/// rows of text cells (inline strings). Columns listed in `textColumns` are formatted as Text, so that Excel
/// and WPS keep the ID numbers clerks type into them as typed (a number-formatted column keeps 15 digits).
package enum WorkbookWriter {
    package static func xlsx(title: String?, header: [String], rows: [[String]], textColumns: Set<Int> = []) throws
        -> [UInt8]
    {
        let width = max(header.count, rows.map(\.count).max() ?? 0)
        var sheetRows: [String] = []
        var line = 0
        func rowXML(_ cells: [String], style: (Int) -> Int) -> String {
            line += 1
            let cellsXML = cells.enumerated().map { column, text in
                let reference = columnName(column) + String(line)
                let styleAttribute = style(column) == 0 ? "" : " s=\"\(style(column))\""
                guard !text.isEmpty else { return "<c r=\"\(reference)\"\(styleAttribute)/>" }
                return "<c r=\"\(reference)\"\(styleAttribute) t=\"inlineStr\"><is><t>\(escaped(text))</t></is></c>"
            }
            return "<row r=\"\(line)\">\(cellsXML.joined())</row>"
        }
        if let title { sheetRows.append(rowXML([title], style: { _ in 0 })) }
        sheetRows.append(rowXML(header, style: { _ in 0 }))
        for row in rows { sheetRows.append(rowXML(row, style: { textColumns.contains($0) ? 1 : 0 })) }
        let columns = (0..<width).map { column in
            let style = textColumns.contains(column) ? " style=\"1\"" : ""
            return
                "<col min=\"\(column + 1)\" max=\"\(column + 1)\" width=\"\(textColumns.contains(column) ? 22 : 12)\"\(style) customWidth=\"1\"/>"
        }.joined()
        let merge =
            title != nil && width > 1
            ? "<mergeCells count=\"1\"><mergeCell ref=\"A1:\(columnName(width - 1))1\"/></mergeCells>" : ""
        let sheet = """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><cols>\(columns)</cols><sheetData>\(sheetRows.joined())</sheetData>\(merge)</worksheet>
            """
        return try package(sheet: sheet)
    }

    /// The parts of a one-sheet workbook around `sheet` (the worksheet's XML), zipped.
    static func package(sheet: String) throws -> [UInt8] {
        let parts: [(String, String)] = [
            (
                "[Content_Types].xml",
                """
                <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
                <Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>
                """
            ),
            (
                "_rels/.rels",
                """
                <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
                <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>
                """
            ),
            (
                "xl/workbook.xml",
                """
                <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
                <workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="台账" sheetId="1" r:id="rId1"/></sheets></workbook>
                """
            ),
            (
                "xl/_rels/workbook.xml.rels",
                """
                <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
                <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>
                """
            ),
            (
                "xl/styles.xml",
                """
                <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
                <styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><fonts count="1"><font><sz val="11"/><name val="宋体"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border/></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>
                """
            ),
            ("xl/worksheets/sheet1.xml", sheet),
        ]
        let archive = try Archive(data: Data(), accessMode: .create)
        for (path, text) in parts {
            let data = Data(text.utf8)
            try archive.addEntry(
                with: path, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate,
                provider: { position, size in data.subdata(in: Int(position)..<Int(position) + size) })
        }
        guard let data = archive.data else {
            throw LedgerFileError(chinese: "无法生成工作簿", english: "cannot build the workbook")
        }
        return Array(data)
    }

    static func columnName(_ index: Int) -> String {
        var name = ""
        var rest = index + 1
        while rest > 0 {
            let remainder = (rest - 1) % 26
            name = String(UnicodeScalar(UInt8(65 + remainder))) + name
            rest = (rest - 1) / 26
        }
        return name
    }

    static func escaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            // XML 1.0 cannot carry most control characters at all.
            case _ where scalar.value < 0x20 && scalar != "\t" && scalar != "\n" && scalar != "\r": continue
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// The blank ledger clerks download: the headers the agent reads, in Chinese, ID numbers as text.
package enum LedgerTemplate {
    package static let header = [
        "姓名", "身份证号", "户编号", "就业状态", "就业形式", "就业地点", "行业", "登记失业", "人员类别", "求职", "帮扶", "培训", "收入档次",
    ]

    /// UTF-8 with a BOM, so that Excel opens the Chinese headers correctly.
    package static func csv() -> [UInt8] { [0xEF, 0xBB, 0xBF] + Array((header.joined(separator: ",") + "\r\n").utf8) }

    package static func xlsx() throws -> [UInt8] {
        try WorkbookWriter.xlsx(
            title: "XX村（社区）XXXX年XX月就业监测台账", header: header, rows: [],
            textColumns: [header.firstIndex(of: "身份证号") ?? 1, header.firstIndex(of: "户编号") ?? 2])
    }
}
