import Domain
import Foundation
import GRDB

/// A record as the spool remembers it.
package struct SpooledRecord: Sendable, Equatable {
    package let recordID: String
    package let recordKind: String
    package let period: String
    package let submission: String
    /// The ledger line the record came from (person records).
    package let line: Int?
    package let personKey: String?
    package let unit: String
    package let payload: [UInt8]

    package init(
        recordID: String, recordKind: String, period: String, submission: String, line: Int?, personKey: String?,
        unit: String, payload: [UInt8]
    ) {
        self.recordID = recordID
        self.recordKind = recordKind
        self.period = period
        self.submission = submission
        self.line = line
        self.personKey = personKey
        self.unit = unit
        self.payload = payload
    }

    /// What a later submission replaces: the same person's (or, for activity, the same unit's) month.
    /// What a newer pending record of the same kind and month replaces: a person's record of the same unit (a
    /// correction), or a unit's report. Another unit's record of the same person is not a correction: both go,
    /// and the city keeps the later (a person two villages reported), so that each unit's control total holds
    /// what was sent for it.
    var identity: String { personKey.map { "\(unit)/\($0)" } ?? unit }
}

/// One submission: a ledger file read for one unit and month.
package struct SpoolSubmission: Sendable, Equatable {
    package let id: String
    package let kind: String
    package let period: String
    package let unit: String
    package let file: String
    package let at: Int64

    package init(id: String, kind: String, period: String, unit: String, file: String, at: Int64) {
        self.id = id
        self.kind = kind
        self.period = period
        self.unit = unit
        self.file = file
        self.at = at
    }
}

/// A month's standing in the spool, by record kind and unit: 待发送 (pending), 已送达 (delivered: the broker has
/// it), 已入库 (stored: the city's receipt says its ledger holds it), 被退回 (rejected by the city).
package struct SpoolMonthStatus: Sendable, Equatable, Codable {
    package let kind: String
    package let period: String
    /// The unit reported for; empty for months compacted before units were kept apart.
    package let unit: String
    package let pending: Int
    package let delivered: Int
    /// Pending records whose last delivery attempt failed.
    package let failing: Int
    package let stored: Int
    package let rejected: Int
}

/// A record the city refused, as the clerk needs it to correct the ledger.
package struct SpoolRejection: Sendable, Equatable, Codable {
    package let kind: String
    package let period: String
    package let unit: String
    /// The ledger line the record came from (person records).
    package let line: Int?
    package let reasonCode: String
    package let reason: String
}

/// Whether the agent hears the city's receipts.
package struct ReceiptListening: Sendable, Equatable, Codable {
    /// When receipts were last read (milliseconds since 1970); nil if never: the agent then works as before
    /// receipts, and a month's records count as done once the broker has them.
    package let lastReadAt: Int64?
    /// Why the last attempt failed, if it did.
    package let lastError: String?
}

/// The broker's verdict on one record.
package enum SpoolVerdict: Sendable, Equatable {
    case delivered(recordID: String, partition: Int32, offset: Int64)
    case failed(recordID: String, reason: String)
}

/// The agent's memory of what it accepted and what the broker confirmed, in SQLite (WAL, `synchronous=FULL`).
///
/// A record is committed here before it is produced, and marked delivered only on the broker's delivery
/// report, so after a crash the pending records are exactly those still to send. Every command's cost
/// follows its own work, not the spool's size: pending records are found through a partial index, a
/// correction supersedes through the (kind, month, person) index, and the previous submission of a unit's
/// month through the submissions' index. Delivered records of months older than the retention are
/// compacted into per-month counts, so the file stops growing with history.
package final class Spool: Sendable {
    package let path: String
    let database: DatabaseQueue

    enum State: Int {
        case pending = 0
        case delivered = 1
        case superseded = 2
        /// The city's receipt says its ledger holds the record.
        case stored = 3
        /// The city refused the record; `reason_code` and `reason_zh` say why.
        case rejected = 4
    }

    /// Opens (or creates) `spool.sqlite` in `directory`, importing an older JSON-lines `spool.log` once.
    /// With `durable` false (bulk publishers), commits are not synced one by one; call `sync()` before
    /// delivering.
    package init(directory: String, durable: Bool = true) throws {
        path = directory + "/spool.sqlite"
        var configuration = Configuration()
        configuration.journalMode = .wal
        // The agent's page and a command line may share one spool; a writer waits for the other's commit.
        configuration.busyMode = .timeout(30)
        let synchronous = durable ? "FULL" : "NORMAL"
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = \(synchronous)") }
        do {
            database = try DatabaseQueue(path: path, configuration: configuration)
            try Self.migrator.migrate(database)
        } catch {
            throw AgentError("cannot open the spool \(path): \(error)")
        }
        try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        try JSONLinesSpoolImport.importIfPresent(directory: directory, into: self)
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE submissions (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
                        period TEXT NOT NULL, unit TEXT NOT NULL, file TEXT NOT NULL, at INTEGER NOT NULL);
                    CREATE INDEX submissions_by_month ON submissions(kind, period, unit, seq);
                    CREATE TABLE records (
                        seq INTEGER PRIMARY KEY, record_id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
                        period TEXT NOT NULL, unit TEXT NOT NULL, identity TEXT NOT NULL,
                        submission TEXT NOT NULL, line INTEGER, person_key TEXT, payload BLOB NOT NULL,
                        state INTEGER NOT NULL DEFAULT 0, failure TEXT, partition INTEGER, "offset" INTEGER,
                        delivered_at INTEGER);
                    CREATE INDEX records_pending ON records(seq) WHERE state = 0;
                    CREATE INDEX records_by_identity ON records(kind, period, identity) WHERE state = 0;
                    CREATE INDEX records_by_submission ON records(submission);
                    CREATE INDEX records_by_month ON records(kind, period, state, failure);
                    -- What compaction removed, so the month-by-month summary outlives the records.
                    CREATE TABLE compacted (
                        kind TEXT NOT NULL, period TEXT NOT NULL, delivered INTEGER NOT NULL,
                        PRIMARY KEY (kind, period));
                    CREATE TABLE imports (source TEXT PRIMARY KEY, records INTEGER NOT NULL, at INTEGER NOT NULL);
                    """)
        }
        migrator.registerMigration("v2: receipts") { db in
            try db.execute(
                sql: """
                    ALTER TABLE records ADD COLUMN reason_code TEXT;
                    ALTER TABLE records ADD COLUMN reason_zh TEXT;
                    ALTER TABLE records ADD COLUMN confirmed_at INTEGER;
                    -- Manifests delivered and not yet confirmed, oldest delivery first: what is re-sent after the grace.
                    CREATE INDEX records_unconfirmed ON records(delivered_at)
                        WHERE state = 1 AND kind IN ('manifest.person', 'manifest.activity');
                    CREATE INDEX records_rejected ON records(period) WHERE state = 4;
                    -- Compaction from now on keeps units apart (the older table holds what went before, as delivered).
                    CREATE TABLE compacted_units (
                        kind TEXT NOT NULL, period TEXT NOT NULL, unit TEXT NOT NULL, delivered INTEGER NOT NULL,
                        stored INTEGER NOT NULL, rejected INTEGER NOT NULL, PRIMARY KEY (kind, period, unit));
                    -- Where the agent stands in each partition of the receipts topic.
                    CREATE TABLE receipt_positions (partition INTEGER PRIMARY KEY, next INTEGER NOT NULL);
                    CREATE TABLE receipt_listening (id INTEGER PRIMARY KEY CHECK (id = 1), last_read_at INTEGER, last_error TEXT);
                    """)
        }
        migrator.registerMigration("v3: a person's identity within a unit") { db in
            try db.execute(
                sql: "UPDATE records SET identity = unit || '/' || person_key WHERE person_key IS NOT NULL")
        }
        return migrator
    }

    // The statements of every command. Each finds its rows through an index (a test reads their query plans),
    // so a command costs what its own submission or delivery costs, whatever the spool holds.
    static let supersedeSQL =
        "UPDATE records SET state = \(State.superseded.rawValue) WHERE kind = ? AND period = ? AND identity = ? AND state = 0"
    static let insertRecordSQL = """
        INSERT OR IGNORE INTO records (record_id, kind, period, unit, identity, submission, line, person_key, payload)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        """
    static let previousSubmissionSQL = """
        SELECT id FROM submissions WHERE kind = 'person' AND period = ? AND unit = ? AND id <> ? ORDER BY seq DESC LIMIT 1
        """
    static let submissionPersonsSQL =
        "SELECT person_key, line FROM records WHERE submission = ? AND person_key IS NOT NULL"
    static let pendingSQL = """
        SELECT seq, record_id, kind, period, submission, line, person_key, unit, payload FROM records
        WHERE state = 0 AND seq > ? ORDER BY seq LIMIT ?
        """
    static let deliveredSQL = """
        UPDATE records SET state = \(State.delivered.rawValue), partition = ?, "offset" = ?, delivered_at = ?, failure = NULL
        WHERE record_id = ?
        """
    static let failedSQL = "UPDATE records SET failure = ? WHERE record_id = ? AND state = 0"
    /// Compaction keeps what is still to be confirmed: with receipts (`?` = 1) a delivered record stays until the
    /// city confirms or refuses it; without, a delivered record is done.
    static let compactCountSQL = """
        INSERT INTO compacted_units (kind, period, unit, delivered, stored, rejected)
        SELECT kind, period, unit, sum(state = \(State.delivered.rawValue)), sum(state = \(State.stored.rawValue)),
            sum(state = \(State.rejected.rawValue)) FROM records
        WHERE kind IN ('person', 'activity') AND period < ?1
            AND state IN (\(State.stored.rawValue), \(State.rejected.rawValue), \(State.delivered.rawValue))
            AND (state <> \(State.delivered.rawValue) OR ?2 = 0)
        GROUP BY kind, period, unit
        ON CONFLICT (kind, period, unit) DO UPDATE SET delivered = delivered + excluded.delivered,
            stored = stored + excluded.stored, rejected = rejected + excluded.rejected
        """
    static let compactRecordsSQL = """
        DELETE FROM records WHERE kind IN ('person', 'activity', 'manifest.person', 'manifest.activity') AND period < ?1
            AND state <> 0 AND (state <> \(State.delivered.rawValue) OR ?2 = 0)
        """
    /// Every record a unit's month has had, over all its submissions, oldest first (the manifest keeps the last per identity).
    /// CROSS JOIN keeps SQLite's join order: with a plain JOIN it chose to walk every record of the kind by
    /// `records_by_month (kind=?)`, the whole spool's history for each submission.
    static let unitMonthRecordsSQL = """
        SELECT r.record_id, r.identity FROM submissions s CROSS JOIN records r ON r.submission = s.id
        WHERE s.kind = ? AND s.period = ? AND s.unit = ? AND r.kind = s.kind ORDER BY r.seq
        """
    static let compactSubmissionsSQL = """
        DELETE FROM submissions WHERE kind IN ('person', 'activity') AND period < ?
        AND NOT EXISTS (SELECT 1 FROM records r WHERE r.submission = submissions.id)
        """
    static let perCommandStatements = [
        supersedeSQL, previousSubmissionSQL, submissionPersonsSQL, pendingSQL, deliveredSQL, failedSQL, compactCountSQL,
        compactRecordsSQL, compactSubmissionsSQL, unitMonthRecordsSQL,
    ]

    /// SQLite's plan for a statement, one line per step (for the tests).
    func queryPlan(_ sql: String) throws -> String {
        let placeholders = sql.count { $0 == "?" }
        return try database.read { db in
            try Row.fetchAll(
                db, sql: "EXPLAIN QUERY PLAN " + sql,
                arguments: StatementArguments(Array(repeating: String?.none, count: placeholders))
            ).map { $0["detail"] as String? ?? "" }.joined(separator: "\n")
        }
    }

    /// Stores a submission and its records in one transaction. Earlier pending records of the same
    /// person (or unit) and month are superseded: they would be replaced at the city anyway.
    package func append(_ submission: SpoolSubmission, records: [SpooledRecord]) throws {
        try write { db in try self.insert(submission, records: records, in: db) }
    }

    /// The spool kind of a manifest for records of `kind` ("person" or "activity").
    package static func manifestKind(for kind: String) -> String { "manifest." + kind }

    /// Stores a submission and its records, then the manifest `makeManifest` builds from the record ids now
    /// current for the submission's unit and month (the last of each person, over every submission), in one
    /// transaction: a manifest is never spooled without its records, nor records without their manifest.
    package func append(
        _ submission: SpoolSubmission, records: [SpooledRecord],
        manifest makeManifest: (_ currentRecordIDs: [String]) throws -> SpooledRecord
    ) throws {
        try write { db in
            try self.insert(submission, records: records, in: db)
            var current: [String: String] = [:]
            let rows = try Row.fetchCursor(
                db, sql: Self.unitMonthRecordsSQL, arguments: [submission.kind, submission.period, submission.unit])
            while let row = try rows.next() { current[row[1]] = row[0] }
            try self.insert(submission, records: [try makeManifest(Array(current.values))], in: db)
        }
    }

    func insert(_ submission: SpoolSubmission, records: [SpooledRecord], in db: Database) throws {
        try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO submissions (id, kind, period, unit, file, at) VALUES (?, ?, ?, ?, ?, ?)"
        ).execute(arguments: [
            submission.id, submission.kind, submission.period, submission.unit, submission.file, submission.at,
        ])
        let supersede = try db.cachedStatement(sql: Self.supersedeSQL)
        let insert = try db.cachedStatement(sql: Self.insertRecordSQL)
        for record in records {
            try supersede.execute(arguments: [record.recordKind, record.period, record.identity])
            try insert.execute(arguments: [
                record.recordID, record.recordKind, record.period, record.unit, record.identity, record.submission,
                record.line, record.personKey, Data(record.payload),
            ])
        }
    }

    /// Person keys and ledger lines of the latest earlier person submission for `unit`'s `period`.
    package func previousPersons(unit: String, period: String, before submission: String) throws -> [String: Int] {
        try database.read { db in
            guard
                let previous = try String.fetchOne(
                    db, sql: Self.previousSubmissionSQL, arguments: [period, unit, submission])
            else {
                return [:]
            }
            var persons: [String: Int] = [:]
            let rows = try Row.fetchCursor(db, sql: Self.submissionPersonsSQL, arguments: [previous])
            while let row = try rows.next() { persons[row[0]] = row[1] ?? 0 }
            return persons
        }
    }

    /// Up to `limit` records still to send, in the order they were spooled, after position `after`.
    package func pending(after: Int64 = 0, limit: Int) throws -> [(position: Int64, record: SpooledRecord)] {
        try database.read { db in
            // A cursor reads each row in place; `fetchAll` copied every row (with its column names) first, and
            // that copy was a tenth of a bulk agent's CPU.
            let rows = try Row.fetchCursor(db.cachedStatement(sql: Self.pendingSQL), arguments: [after, limit])
            var pending: [(position: Int64, record: SpooledRecord)] = []
            while let row = try rows.next() {
                pending.append(
                    (
                        row[0],
                        SpooledRecord(
                            recordID: row[1], recordKind: row[2], period: row[3], submission: row[4], line: row[5],
                            personKey: row[6], unit: row[7],
                            payload: try row.withUnsafeData(atIndex: 8) { $0.map { Array($0) } ?? [] })
                    ))
            }
            return pending
        }
    }

    package func pendingCount() throws -> Int {
        try database.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM records WHERE state = 0 AND kind IN ('person', 'activity')")
                ?? 0
        }
    }

    /// Records the broker's verdicts in one transaction.
    package func record(_ verdicts: [SpoolVerdict], at milliseconds: Int64) throws {
        guard !verdicts.isEmpty else { return }
        try write { db in
            let delivered = try db.cachedStatement(sql: Self.deliveredSQL)
            let failed = try db.cachedStatement(sql: Self.failedSQL)
            for verdict in verdicts {
                switch verdict {
                case .delivered(let id, let partition, let offset):
                    try delivered.execute(arguments: [partition, offset, milliseconds, id])
                case .failed(let id, let reason):
                    try failed.execute(arguments: [reason, id])
                }
            }
        }
    }

    /// Pending, delivered, failing, stored and rejected counts by kind, month and unit; compacted months keep
    /// their counts (under an empty unit).
    package func status() throws -> [SpoolMonthStatus] {
        try database.read { db in
            struct Month: Hashable, Comparable {
                let kind: String
                let period: String
                let unit: String
                static func < (a: Month, b: Month) -> Bool { (a.kind, a.period, a.unit) < (b.kind, b.period, b.unit) }
            }
            var rows: [Month: [Int]] = [:]
            let live = try Row.fetchCursor(
                db,
                sql: """
                    SELECT kind, period, unit, sum(state = 0), sum(state = 1), sum(state = 0 AND failure IS NOT NULL),
                        sum(state = 3), sum(state = 4)
                    FROM records WHERE kind IN ('person', 'activity') GROUP BY kind, period, unit
                    """)
            while let row = try live.next() {
                rows[Month(kind: row[0], period: row[1], unit: row[2])] = [row[3], row[4], row[5], row[6], row[7]]
            }
            let compacted = try Row.fetchCursor(
                db,
                sql: """
                    SELECT kind, period, unit, delivered, stored, rejected FROM compacted_units
                    UNION ALL SELECT kind, period, '', delivered, 0, 0 FROM compacted
                    """)
            while let row = try compacted.next() {
                let month = Month(kind: row[0], period: row[1], unit: row[2])
                var counts = rows[month] ?? [0, 0, 0, 0, 0]
                counts[1] += row[3] as Int
                counts[3] += row[4] as Int
                counts[4] += row[5] as Int
                rows[month] = counts
            }
            return rows.sorted { $0.key < $1.key }.map { month, value in
                SpoolMonthStatus(
                    kind: month.kind, period: month.period, unit: month.unit, pending: value[0], delivered: value[1],
                    failing: value[2], stored: value[3], rejected: value[4])
            }
        }
    }

    /// The ids of the records of `kind` that no later record of the same person and month replaced.
    package func currentRecordIDs(kind: String) throws -> [String] {
        try database.read { db in
            try String.fetchAll(
                db, sql: "SELECT record_id FROM records WHERE kind = ? AND state <> ?",
                arguments: [kind, State.superseded.rawValue])
        }
    }

    /// The records the city refused, newest month first, with their ledger lines and the city's reasons (a refused
    /// manifest is no row of the clerk's; its records are listed).
    package func rejections(limit: Int = 1000) throws -> [SpoolRejection] {
        try database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT kind, period, unit, line, reason_code, reason_zh FROM records INDEXED BY records_rejected
                    WHERE state = 4 AND kind IN ('person', 'activity') ORDER BY period DESC, unit, line LIMIT ?
                    """, arguments: [limit]
            ).map { row in
                SpoolRejection(
                    kind: row[0], period: row[1], unit: row[2], line: row[3], reasonCode: row[4] ?? "",
                    reason: row[5] ?? "")
            }
        }
    }

    /// Removes finished records of months before `period`, keeping their counts: superseded, stored and rejected
    /// ones, and delivered ones too when the agent hears no receipts. Pending records are never removed, nor, with
    /// receipts, records the city has not confirmed. Returns how many records went.
    @discardableResult
    package func compact(before period: Period) throws -> Int {
        try write { db in
            let receipts = try Self.listening(in: db).lastReadAt != nil
            try db.execute(sql: Self.compactCountSQL, arguments: [period.description, receipts])
            try db.execute(sql: Self.compactRecordsSQL, arguments: [period.description, receipts])
            let removed = db.changesCount
            try db.execute(sql: Self.compactSubmissionsSQL, arguments: [period.description])
            return removed
        }
    }

    /// Forces every commit to disk (after appends with `durable: false`).
    package func sync() throws {
        do { _ = try database.writeWithoutTransaction { db in try db.checkpoint(.full) } } catch {
            throw AgentError("cannot sync the spool \(path) to disk: \(error)")
        }
    }

    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try database.write(body) } catch let error as AgentError { throw error } catch {
            throw AgentError("cannot write the spool \(path): \(error)")
        }
    }

    func isImported(_ source: String) throws -> Bool {
        try database.read { db in
            try Bool.fetchOne(db, sql: "SELECT count(*) > 0 FROM imports WHERE source = ?", arguments: [source])
                ?? false
        }
    }
}

package struct AgentError: Error, CustomStringConvertible, Sendable {
    package let description: String
    package init(_ description: String) { self.description = description }
}
