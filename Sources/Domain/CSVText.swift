/// Comma-separated text as RFC 4180 writes it: a field with a comma, a quote or a line break is quoted, its quotes
/// doubled.
package enum CSVText {
    package static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return text }
        return "\"" + String(text.flatMap { $0 == "\"" ? "\"\"" : String($0) }) + "\""
    }

    /// A header and rows, each line ended by `lineEnd` except the last unless `terminated`.
    package static func render(header: [String], rows: [[String]], lineEnd: String = "\n", terminated: Bool = false)
        -> String
    {
        ([header] + rows).map { $0.map(field).joined(separator: ",") }.joined(separator: lineEnd)
            + (terminated ? lineEnd : "")
    }
}
