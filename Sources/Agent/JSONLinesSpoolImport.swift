import Foundation
import GRDB

/// Brings an agent's older spool (`spool.log`, fsync'd JSON lines) into the SQLite spool, once.
///
/// The import is one transaction that also notes itself in `imports`; only after it commits is the old file
/// renamed to `spool.log.imported` (kept, not deleted). A crash before the commit leaves the old file to be
/// read again; a crash between the commit and the rename is recognised by the note. Every record keeps its
/// id, payload and state: delivered, failing, or pending (superseded by a later submission of the same person
/// and month as the old spool decided).
enum JSONLinesSpoolImport {
    static let source = "spool.log"

    /// The old format's line: one kind of entry with optional fields.
    private struct Entry: Decodable {
        enum Kind: String, Decodable { case submission, record, delivered, failed }
        var kind: Kind
        var recordID: String?
        var recordKind: String?
        var period: String?
        var submission: String?
        var line: Int?
        var personKey: String?
        var unit: String?
        var payload: String?
        var file: String?
        var partition: Int32?
        var offset: Int64?
        var reason: String?
        var at: Int64?
    }

    static func importIfPresent(directory: String, into spool: Spool) throws {
        let path = directory + "/" + source
        guard FileManager.default.fileExists(atPath: path) else { return }
        if try !spool.isImported(source) {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw AgentError("cannot read the old spool \(path) to import it")
            }
            try spool.write { db in
                let decoder = JSONDecoder()
                var imported = 0
                for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
                    // A line torn by a crash was never reported as written: the old spool skipped it too.
                    guard let entry = try? decoder.decode(Entry.self, from: Data(line)) else { continue }
                    switch entry.kind {
                    case .submission:
                        let submission = SpoolSubmission(
                            id: entry.submission ?? "", kind: entry.recordKind ?? "person", period: entry.period ?? "",
                            unit: "", file: entry.file ?? "", at: entry.at ?? 0)
                        try spool.insert(submission, records: [], in: db)
                    case .record:
                        guard let id = entry.recordID, let payload = entry.payload.flatMap({ Data(base64Encoded: $0) })
                        else {
                            continue
                        }
                        let record = SpooledRecord(
                            recordID: id, recordKind: entry.recordKind ?? "person", period: entry.period ?? "",
                            submission: entry.submission ?? "", line: entry.line, personKey: entry.personKey,
                            unit: entry.unit ?? "", payload: Array(payload))
                        let submission = SpoolSubmission(
                            id: record.submission, kind: record.recordKind, period: record.period, unit: record.unit,
                            file: "", at: entry.at ?? 0)
                        try spool.insert(submission, records: [record], in: db)
                        imported += 1
                    case .delivered:
                        guard let id = entry.recordID else { continue }
                        try db.execute(
                            sql: Spool.deliveredSQL, arguments: [entry.partition, entry.offset, entry.at, id])
                    case .failed:
                        guard let id = entry.recordID else { continue }
                        try db.execute(sql: Spool.failedSQL, arguments: [entry.reason ?? "", id])
                    }
                }
                // The old submission lines did not name their unit; their records do.
                try db.execute(
                    sql: """
                        UPDATE submissions SET unit = coalesce(
                            (SELECT unit FROM records WHERE records.submission = submissions.id LIMIT 1), '')
                        WHERE unit = ''
                        """)
                try db.execute(
                    sql: "INSERT INTO imports (source, records, at) VALUES (?, ?, ?)",
                    arguments: [source, imported, Int64(Date().timeIntervalSince1970 * 1000)])
            }
        }
        let kept = path + ".imported"
        try? FileManager.default.removeItem(atPath: kept)
        do { try FileManager.default.moveItem(atPath: path, toPath: kept) } catch {
            throw AgentError("imported \(path) into the SQLite spool but cannot rename it to \(kept): \(error)")
        }
    }
}
