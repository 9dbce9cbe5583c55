import Domain
import Foundation
import GRDB

/// The spool's side of the city's receipts: a record moves from delivered (the broker has it) to stored (the
/// city's ledger has it) or rejected (the city refused it, with the reason); a unit-month the city did not
/// confirm within the grace period goes back to pending, records and manifest, to be sent again.
extension Spool {
    /// What applying receipts did.
    package struct ReceiptOutcome: Sendable, Equatable {
        package var receipts = 0
        /// Unit-months the city confirmed whole (records stored or rejected).
        package var confirmed = 0
        /// Unit-months whose receipt lacks records: re-sent once the grace period has passed.
        package var incomplete = 0
        package var rejected = 0
        /// Ids of the agent's keys the city confirmed holding.
        package var keys: [String] = []
        package init() {}
    }

    /// Applies receipts read from `partition` and stores where reading goes on, in one transaction: a crash
    /// repeats the batch of receipts, and applying a receipt twice changes nothing the first did not.
    package func apply(
        _ receipts: [SubmissionReceipt], positions: [Int32: Int64], at milliseconds: Int64
    ) throws -> ReceiptOutcome {
        try write { db in
            var outcome = ReceiptOutcome()
            let reject = try db.cachedStatement(
                sql: """
                    UPDATE records SET state = \(State.rejected.rawValue), reason_code = ?, reason_zh = ?, confirmed_at = ?
                    WHERE record_id = ? AND state IN (\(State.pending.rawValue), \(State.delivered.rawValue))
                    """)
            for receipt in receipts {
                outcome.receipts += 1
                // Rejections first: a unit-month is complete when its records are stored or refused.
                for rejection in receipt.rejections {
                    try reject.execute(arguments: [
                        rejection.reasonCode, rejection.chinese, milliseconds, rejection.record,
                    ])
                    outcome.rejected += db.changesCount
                }
                for standing in receipt.standings {
                    if try confirm(standing, at: milliseconds, in: db) {
                        outcome.confirmed += 1
                    } else {
                        outcome.incomplete += 1
                    }
                }
            }
            let position = try db.cachedStatement(
                sql:
                    "INSERT INTO receipt_positions (partition, next) VALUES (?, ?) ON CONFLICT (partition) DO UPDATE SET next = excluded.next"
            )
            for (partition, next) in positions { try position.execute(arguments: [partition, next]) }
            try db.execute(
                sql: """
                    INSERT INTO receipt_listening (id, last_read_at, last_error) VALUES (1, ?, NULL)
                    ON CONFLICT (id) DO UPDATE SET last_read_at = excluded.last_read_at, last_error = NULL
                    """, arguments: [milliseconds])
            return outcome
        }
    }

    /// Marks a unit-month stored when its receipt accounts for every record its manifest declared. Returns
    /// whether it did. Records of the unit-month spooled after the manifest wait for their own.
    private func confirm(_ standing: SubmissionReceipt.Standing, at milliseconds: Int64, in db: Database) throws -> Bool
    {
        guard
            let manifest = try Row.fetchOne(
                db, sql: "SELECT seq, kind, state FROM records WHERE record_id = ?", arguments: [standing.manifest])
        else { return true }  // compacted, or another agent home's: nothing here to confirm
        let manifestSeq: Int64 = manifest[0]
        let recordKind = standing.kind
        // Every record of the unit-month up to the manifest, through its submissions (indexed), oldest first.
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT r.seq, r.identity, r.state, r.record_id FROM submissions s CROSS JOIN records r ON r.submission = s.id
                WHERE s.kind = ? AND s.period = ? AND s.unit = ? AND r.kind = s.kind AND r.seq < ? ORDER BY r.seq
                """, arguments: [recordKind, standing.period, standing.unit, manifestSeq])
        var current: [String: (seq: Int64, state: Int, recordID: String)] = [:]
        var replaced: [Int64] = []
        for row in rows {
            let identity: String = row[1]
            if let earlier = current[identity] { replaced.append(earlier.seq) }
            current[identity] = (row[0], row[2], row[3])
        }
        let refused = current.values.count { $0.state == State.rejected.rawValue }
        // Records the ledger holds under another village's later report of the same person: accounted for.
        let elsewhere = Set(standing.superseded.map { $0.lowercased() })
        let displaced = current.values.filter {
            $0.state != State.rejected.rawValue && elsewhere.contains($0.recordID.lowercased())
        }
        guard standing.stored + refused + displaced.count >= standing.declared else { return false }
        let store = try db.cachedStatement(
            sql:
                "UPDATE records SET state = \(State.stored.rawValue), confirmed_at = ? WHERE seq = ? AND state IN (\(State.delivered.rawValue), \(State.stored.rawValue))"
        )
        let displacedSeqs = Set(displaced.map(\.seq))
        for record in current.values
        where record.state == State.delivered.rawValue && !displacedSeqs.contains(record.seq) {
            try store.execute(arguments: [milliseconds, record.seq])
        }
        try store.execute(arguments: [milliseconds, manifestSeq])
        // Versions a later submission replaced, and manifests before this one: the city has moved past them.
        let supersede = try db.cachedStatement(
            sql:
                "UPDATE records SET state = \(State.superseded.rawValue) WHERE seq = ? AND state = \(State.delivered.rawValue)"
        )
        for seq in replaced { try supersede.execute(arguments: [seq]) }
        for seq in displacedSeqs {
            try db.execute(
                sql: "UPDATE records SET state = \(State.superseded.rawValue) WHERE seq = ? AND state IN (?, ?)",
                arguments: [seq, State.delivered.rawValue, State.stored.rawValue])
        }
        try db.execute(
            sql: """
                UPDATE records SET state = \(State.superseded.rawValue)
                WHERE state = \(State.delivered.rawValue) AND kind = ? AND period = ? AND unit = ? AND seq < ?
                """, arguments: [Self.manifestKind(for: recordKind), standing.period, standing.unit, manifestSeq])
        return true
    }

    /// Sends again, whole, every unit-month whose latest manifest was delivered before `cutoff` (milliseconds
    /// since 1970) and never confirmed: its manifest and its records the city has not confirmed go back to
    /// pending. Record ids make the replay harmless at the city. Returns how many unit-months.
    @discardableResult
    package func requeueUnconfirmed(deliveredBefore cutoff: Int64) throws -> Int {
        try write { db in
            let stale = try Row.fetchAll(
                db,
                sql: """
                    SELECT seq, kind, period, unit FROM records
                    WHERE state = 1 AND kind IN ('manifest.person', 'manifest.activity') AND delivered_at < ?
                    """, arguments: [cutoff])
            var requeued = 0
            for row in stale {
                let seq: Int64 = row[0]
                let manifestKind: String = row[1]
                let recordKind = String(manifestKind.dropFirst("manifest.".count))
                let period: String = row[2]
                let unit: String = row[3]
                // Only the latest manifest of a unit-month speaks for it.
                let newer =
                    try Bool.fetchOne(
                        db,
                        sql: "SELECT count(*) > 0 FROM records WHERE kind = ? AND period = ? AND unit = ? AND seq > ?",
                        arguments: [manifestKind, period, unit, seq]) ?? false
                if newer {
                    try db.execute(
                        sql: "UPDATE records SET state = \(State.superseded.rawValue) WHERE seq = ?", arguments: [seq])
                    continue
                }
                try db.execute(
                    sql: """
                        UPDATE records SET state = \(State.pending.rawValue) WHERE state = \(State.delivered.rawValue)
                        AND seq IN (SELECT r.seq FROM submissions s CROSS JOIN records r ON r.submission = s.id
                            WHERE s.kind = ? AND s.period = ? AND s.unit = ? AND r.kind = s.kind AND r.seq < ?)
                        """, arguments: [recordKind, period, unit, seq])
                try db.execute(
                    sql: "UPDATE records SET state = \(State.pending.rawValue) WHERE seq = ?", arguments: [seq])
                requeued += 1
            }
            return requeued
        }
    }

    /// Delivered records the city has not yet confirmed or refused.
    package func unconfirmedCount() throws -> Int {
        try database.read { db in
            try Int.fetchOne(
                db,
                sql: "SELECT count(*) FROM records WHERE state = 1 AND kind IN ('manifest.person', 'manifest.activity')"
            )
                ?? 0
        }
    }

    /// Where reading the receipts topic goes on, by partition.
    package func receiptPositions() throws -> [Int32: Int64] {
        try database.read { db in
            var positions: [Int32: Int64] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT partition, next FROM receipt_positions") {
                positions[row[0]] = row[1]
            }
            return positions
        }
    }

    /// Remembers that receipts could not be read, and why (shown by `agent status` and the page).
    package func noteReceiptsUnavailable(_ reason: String) throws {
        try write { db in
            try db.execute(
                sql: """
                    INSERT INTO receipt_listening (id, last_read_at, last_error) VALUES (1, NULL, ?)
                    ON CONFLICT (id) DO UPDATE SET last_error = excluded.last_error
                    """, arguments: [reason])
        }
    }

    package func receiptListening() throws -> ReceiptListening {
        try database.read { db in try Self.listening(in: db) }
    }

    static func listening(in db: Database) throws -> ReceiptListening {
        guard let row = try Row.fetchOne(db, sql: "SELECT last_read_at, last_error FROM receipt_listening WHERE id = 1")
        else { return ReceiptListening(lastReadAt: nil, lastError: nil) }
        return ReceiptListening(lastReadAt: row[0], lastError: row[1])
    }
}
