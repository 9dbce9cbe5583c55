import Foundation

/// The text encodings a ledger file may come in.
package enum LedgerEncoding: String, Sendable {
    case utf8 = "UTF-8"
    case utf8WithBOM = "UTF-8 with BOM"
    /// What Excel in China writes for "CSV": GBK, read as its superset GB18030.
    case gb18030 = "GB18030/GBK"
    /// An Excel/WPS workbook: text is UTF-8 inside, and cells keep their types.
    case xlsx = "xlsx"
}

package enum LedgerText {
    /// NSString's code for GB 18030-2000 (kCFStringEncodingGB_18030_2000), which Foundation decodes on Linux too.
    private static let gb18030 = String.Encoding(rawValue: 0x8000_0632)

    /// Decodes a file's bytes: UTF-8 (with or without BOM) when the bytes are valid UTF-8, else GB18030.
    package static func decode(_ bytes: [UInt8]) throws(LedgerFileError) -> (text: String, encoding: LedgerEncoding) {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            guard let text = String(validating: bytes.dropFirst(3), as: UTF8.self) else {
                throw LedgerFileError(
                    chinese: "文件以UTF-8标记开头，但内容不是有效的UTF-8",
                    english: "the file starts with a UTF-8 BOM but is not valid UTF-8")
            }
            return (text, .utf8WithBOM)
        }
        if let text = String(validating: bytes, as: UTF8.self) { return (text, .utf8) }
        if let text = String(data: Data(bytes), encoding: gb18030) { return (text, .gb18030) }
        throw LedgerFileError(
            chinese: "无法识别文件编码（支持UTF-8和GBK/GB18030）", english: "the file is neither UTF-8 nor GBK/GB18030")
    }
}

/// A problem with a whole file rather than one row.
package struct LedgerFileError: Error, Sendable, Hashable, CustomStringConvertible {
    package let chinese: String
    package let english: String
    package var description: String { "\(chinese) (\(english))" }
}

/// One data row of a ledger: its 1-based line number in the file (the row number in a workbook), and its
/// cells by column header.
package struct LedgerRow: Sendable {
    package let line: Int
    package let cells: [String: String]
    /// Headers whose cell a workbook stored as a number (an ID number stored so has lost digits).
    package var numericCells: Set<String> = []
}

/// Reads CSV (RFC 4180: quoted cells, doubled quotes, line breaks inside quotes, CRLF) and JSON lines.
package enum LedgerTable {
    package static func parse(_ text: String, format: LedgerFormat) throws(LedgerFileError) -> (
        headers: [String], rows: [LedgerRow]
    ) {
        switch format {
        case .csv: return try parseCSV(text)
        case .jsonLines: return try parseJSONLines(text)
        case .xlsx:
            throw LedgerFileError(
                chinese: "xlsx文件不是文本，请按工作簿读取", english: "an xlsx file is not text; read it as a workbook")
        }
    }

    /// The first sheet of an `.xlsx` workbook, as header and rows like a CSV file's.
    package static func parseWorkbook(_ bytes: [UInt8]) throws(LedgerFileError) -> (
        headers: [String], rows: [LedgerRow]
    ) {
        let sheet = try Workbook.firstSheet(bytes)
        let records = sheet.map { row in
            let width = (row.cells.keys.max() ?? -1) + 1
            return (
                line: row.line, fields: (0..<width).map { row.cells[$0]?.text ?? "" },
                numeric: Set(row.cells.filter(\.value.isNumber).keys)
            )
        }
        return try table(records)
    }

    static func parseCSV(_ text: String) throws(LedgerFileError) -> (headers: [String], rows: [LedgerRow]) {
        var records: [(line: Int, fields: [String])] = []
        var field = ""
        var fields: [String] = []
        var inQuotes = false
        var line = 1
        var recordLine = 1
        var iterator = Array(text.unicodeScalars)[...]
        while let scalar = iterator.popFirst() {
            if inQuotes {
                if scalar == "\"" {
                    if iterator.first == "\"" {
                        iterator.removeFirst()
                        field.unicodeScalars.append("\"")
                    } else {
                        inQuotes = false
                    }
                } else {
                    if scalar == "\n" { line += 1 }
                    field.unicodeScalars.append(scalar)
                }
                continue
            }
            switch scalar {
            case "\"" where field.isEmpty: inQuotes = true
            case ",":
                fields.append(field)
                field = ""
            case "\r" where iterator.first == "\n": continue
            case "\n", "\r":
                fields.append(field)
                records.append((recordLine, fields))
                fields = []
                field = ""
                line += 1
                recordLine = line
            default: field.unicodeScalars.append(scalar)
            }
        }
        if inQuotes {
            throw LedgerFileError(
                chinese: "第\(recordLine)行的引号没有闭合", english: "the quote opened on line \(recordLine) is never closed")
        }
        if !field.isEmpty || !fields.isEmpty {
            fields.append(field)
            records.append((recordLine, fields))
        }
        return try table(records.map { ($0.line, $0.fields, []) })
    }

    /// Rows of cells to header and rows. The header is the first row with two or more filled cells: a
    /// template's title rows above it ("XX村2024年10月就业监测台账", merged across the sheet, so one cell)
    /// are skipped. Empty rows are dropped.
    static func table(_ records: [(line: Int, fields: [String], numeric: Set<Int>)]) throws(LedgerFileError) -> (
        headers: [String], rows: [LedgerRow]
    ) {
        let nonEmpty = records.filter { !$0.fields.allSatisfy { $0.trimmingCharacters(in: .whitespaces).isEmpty } }
        guard !nonEmpty.isEmpty else {
            throw LedgerFileError(chinese: "文件是空的", english: "the file is empty")
        }
        func filled(_ fields: [String]) -> Int { fields.count { !$0.trimmingCharacters(in: .whitespaces).isEmpty } }
        let headerIndex = nonEmpty.firstIndex { filled($0.fields) >= 2 } ?? nonEmpty.startIndex
        let headers = nonEmpty[headerIndex].fields.map { $0.trimmingCharacters(in: .whitespaces) }
        let rows = nonEmpty[(headerIndex + 1)...].map { record in
            var cells: [String: String] = [:]
            var numeric: Set<String> = []
            for (index, value) in record.fields.enumerated() where index < headers.count && !headers[index].isEmpty {
                cells[headers[index]] = value.trimmingCharacters(in: .whitespaces)
                if record.numeric.contains(index) { numeric.insert(headers[index]) }
            }
            return LedgerRow(line: record.line, cells: cells, numericCells: numeric)
        }
        return (headers, rows)
    }

    static func parseJSONLines(_ text: String) throws(LedgerFileError) -> (headers: [String], rows: [LedgerRow]) {
        var headers: [String] = []
        var seen: Set<String> = []
        var rows: [LedgerRow] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            guard let object = try? JSONDecoder().decode([String: JSONCell].self, from: Data(trimmed.utf8)) else {
                throw LedgerFileError(
                    chinese: "第\(index + 1)行不是JSON对象", english: "line \(index + 1) is not a JSON object")
            }
            var cells: [String: String] = [:]
            for key in object.keys.sorted() {
                if seen.insert(key).inserted { headers.append(key) }
                if let text = object[key]?.text { cells[key] = text }
            }
            rows.append(LedgerRow(line: index + 1, cells: cells))
        }
        return (headers, rows)
    }
}

package enum LedgerFormat: String, Sendable {
    case csv
    case jsonLines = "jsonl"
    case xlsx

    /// By file extension: `.xlsx` is a workbook, `.jsonl`/`.ndjson`/`.json` are JSON lines, anything else CSV.
    package init(path: String) {
        let lower = path.lowercased()
        if lower.hasSuffix(".xlsx") {
            self = .xlsx
        } else {
            self =
                lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson") || lower.hasSuffix(".json") ? .jsonLines : .csv
        }
    }
}

extension LedgerTable {
    /// Any ledger file to header and rows, with its encoding. A workbook is recognised by its bytes too,
    /// whatever its name (browsers and mail programs rename files).
    package static func read(_ bytes: [UInt8], format: LedgerFormat) throws(LedgerFileError) -> (
        encoding: LedgerEncoding, headers: [String], rows: [LedgerRow]
    ) {
        if format == .xlsx || Workbook.looksLikeWorkbook(bytes) {
            let (headers, rows) = try parseWorkbook(bytes)
            return (.xlsx, headers, rows)
        }
        let (text, encoding) = try LedgerText.decode(bytes)
        let (headers, rows) = try parse(text, format: format)
        return (encoding, headers, rows)
    }
}

/// A JSON value flattened to the text a CSV cell would hold.
private struct JSONCell: Decodable {
    let text: String?

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            text = nil
        } else if let flag = try? container.decode(Bool.self) {
            text = flag ? "true" : "false"
        } else if let number = try? container.decode(Int64.self) {
            text = String(number)
        } else if let number = try? container.decode(Double.self) {
            text = String(number)
        } else if let string = try? container.decode(String.self) {
            text = string
        } else {
            text = try container.decode([JSONCell].self).compactMap(\.text).joined(separator: ",")
        }
    }
}
