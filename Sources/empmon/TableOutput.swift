import ArgumentParser
import Foundation
import Ledger

/// Aligned text tables for people, CSV for machines.
enum Table {
    static func render(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { width(of: $0[column]) }.max() ?? 0 }
        return all.enumerated().map { index, row in
            let line = row.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: widths[column] - width(of: cell))
                return column == 0 ? cell + pad : pad + cell
            }.joined(separator: "  ")
            return index == 0
                ? line + "\n" + widths.map { String(repeating: "─", count: $0) }.joined(separator: "  ") : line
        }.joined(separator: "\n")
    }

    static func width(of text: String) -> Int {
        text.unicodeScalars.reduce(0) {
            $0 + ($1.value >= 0x1100 && ($1.properties.isIdeographic || (0x3000...0xFFEF).contains($1.value)) ? 2 : 1)
        }
    }
}

/// A table as `export`: CSV to standard output, a workbook to `out` (which the caller's validation requires).
func writeTable(_ export: TableExport, header: [String], rows: [[String]], title: String, to out: String?) throws {
    let bytes = try export.bytes(title: title, header: header, rows: rows)
    guard export == .xlsx else {
        FileHandle.standardOutput.write(Data(bytes))
        return
    }
    guard let out else { throw ValidationError("--format xlsx writes a workbook: name its file with --out") }
    try Data(bytes).write(to: URL(fileURLWithPath: out))
    print("wrote \(out) (\(rows.count) rows)")
}
