import ArgumentParser
import Domain
import Foundation
import Ledger

/// Aligned text tables for people, CSV for machines.
package enum Table {
    package static func render(header: [String], rows: [[String]]) -> String {
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

    package static func width(of text: String) -> Int {
        text.unicodeScalars.reduce(0) {
            $0 + ($1.value >= 0x1100 && ($1.properties.isIdeographic || (0x3000...0xFFEF).contains($1.value)) ? 2 : 1)
        }
    }
}

/// A table as `export`: CSV to standard output, a workbook to `out` (which the caller's validation requires).
package func writeTable(_ export: TableExport, header: [String], rows: [[String]], title: String, to out: String?)
    throws
{
    let bytes = try export.bytes(title: title, header: header, rows: rows)
    guard export == .xlsx else {
        FileHandle.standardOutput.write(Data(bytes))
        return
    }
    guard let out else { throw ValidationError("--format xlsx writes a workbook: name its file with --out") }
    try Data(bytes).write(to: URL(fileURLWithPath: out))
    print("wrote \(out) (\(rows.count) rows)")
}

/// Figures for people: counts whole, rates in per cent, changes signed.
package enum Format {
    package static func number(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "–" }
        return abs(value) >= 100 || value == value.rounded()
            ? String(format: "%.0f", value) : String(format: "%.2f", value)
    }

    package static func rate(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "–" }
        return String(format: "%.1f%%", value * 100)
    }

    package static func value(_ value: Double?, of indicator: Indicator) -> String {
        indicator.unit == .rate ? rate(value) : number(value)
    }

    package static func change(_ value: Double?, of indicator: Indicator) -> String {
        guard let value, value.isFinite else { return "–" }
        if indicator.unit == .rate { return String(format: "%+.1f pt", value * 100) }
        return String(format: "%+.0f", value)
    }
}
