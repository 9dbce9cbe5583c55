import Foundation

/// One cell of a table sent out as Excel: numbers stay numbers (they sum and chart), codes and names stay text.
package enum TableCell: Sendable, Equatable {
    case text(String)
    case number(Double)
    case empty
}

extension TableCell {
    /// A table's text cells typed for Excel: a column is numbers when every entry in it parses as one, except
    /// columns of codes and identifiers (`unit`, `…_code`, `id`, `…_id`), which stay text whatever their digits.
    package static func typed(header: [String], rows: [[String]]) -> [[TableCell]] {
        let numeric = header.indices.map { column in
            let name = header[column]
            guard name != "unit", name != "id", !name.hasSuffix("_code"), !name.hasSuffix("_id") else { return false }
            return rows.allSatisfy { row in
                column >= row.count || row[column].isEmpty || Double(row[column]).map(\.isFinite) == true
            }
        }
        return rows.map { row in
            row.enumerated().map { column, text in
                if text.isEmpty { return .empty }
                if column < numeric.count, numeric[column], let value = Double(text) { return .number(value) }
                return .text(text)
            }
        }
    }
}

extension WorkbookWriter {
    /// A one-sheet workbook of a table as analysts send it up the chain: a title row, a header row frozen under
    /// it, typed cells (text cells formatted as Text, so a 12-digit division code is never shown as 1.4E+11), and
    /// columns as wide as their longest entry (a Chinese character counting two).
    package static func table(title: String, header: [String], rows: [[TableCell]]) throws -> [UInt8] {
        let width = max(header.count, rows.map(\.count).max() ?? 0, 1)
        var line = 0
        func rowXML(_ cells: [TableCell]) -> String {
            line += 1
            let cellsXML = cells.enumerated().map { column, cell in
                let reference = columnName(column) + String(line)
                switch cell {
                case .empty: return ""
                case .number(let value) where value.isFinite: return "<c r=\"\(reference)\"><v>\(value)</v></c>"
                case .number: return ""
                case .text(let text):
                    return "<c r=\"\(reference)\" s=\"1\" t=\"inlineStr\"><is><t>\(escaped(text))</t></is></c>"
                }
            }
            return "<row r=\"\(line)\">\(cellsXML.joined())</row>"
        }
        let sheetRows = [rowXML([.text(title)]), rowXML(header.map(TableCell.text))] + rows.map(rowXML)
        let columns = (0..<width).map { column in
            let entries =
                [header[safe: column] ?? ""]
                + rows.compactMap { row -> String? in
                    switch row[safe: column] {
                    case .text(let text)?: return text
                    case .number(let value)?: return "\(value)"
                    default: return nil
                    }
                }
            let longest = entries.map(displayWidth).max() ?? 8
            let characters = min(max(longest + 2, 8), 60)
            return "<col min=\"\(column + 1)\" max=\"\(column + 1)\" width=\"\(characters)\" customWidth=\"1\"/>"
        }.joined()
        let frozen =
            "<sheetViews><sheetView workbookViewId=\"0\"><pane ySplit=\"2\" topLeftCell=\"A3\" activePane=\"bottomLeft\" "
            + "state=\"frozen\"/></sheetView></sheetViews>"
        let merge =
            width > 1 ? "<mergeCells count=\"1\"><mergeCell ref=\"A1:\(columnName(width - 1))1\"/></mergeCells>" : ""
        let sheet = """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\(frozen)<cols>\(columns)</cols><sheetData>\(sheetRows.joined())</sheetData>\(merge)</worksheet>
            """
        return try package(sheet: sheet)
    }

    /// Columns a text takes in Excel's default font: CJK and other wide characters take two.
    static func displayWidth(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { $0 + ($1.value >= 0x1100 ? 2 : 1) }
    }
}

extension Array {
    fileprivate subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
