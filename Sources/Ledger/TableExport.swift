import Domain

/// A table of text rows as a file a person opens: CSV, CSV that Excel and WPS read as UTF-8, or a workbook.
/// The API and the command line both export through this, so the three read the same wherever they come from.
package enum TableExport: String, Sendable, CaseIterable {
    case csv
    /// CSV after a UTF-8 byte-order mark: without it Excel and WPS read the Chinese as GBK and show it garbled.
    case csvExcel = "csv-excel"
    /// A title row, the header frozen under it, numbers as number cells, codes and identifiers as text cells.
    case xlsx

    package var fileExtension: String { self == .xlsx ? "xlsx" : "csv" }

    package var contentType: String {
        self == .xlsx
            ? "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" : "text/csv; charset=utf-8"
    }

    /// The file's bytes; `lineEnd` is CSV's (HTTP answers use CRLF, files written here LF).
    package func bytes(title: String, header: [String], rows: [[String]], lineEnd: String = "\n") throws -> [UInt8] {
        switch self {
        case .xlsx:
            return try WorkbookWriter.table(
                title: title, header: header, rows: TableCell.typed(header: header, rows: rows))
        case .csv, .csvExcel:
            let text = CSVText.render(header: header, rows: rows, lineEnd: lineEnd, terminated: true)
            return (self == .csvExcel ? [0xEF, 0xBB, 0xBF] : []) + Array(text.utf8)
        }
    }
}
