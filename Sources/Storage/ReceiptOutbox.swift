import Domain
import Postgres

/// The receipts the city owes its agents (`SubmissionReceipt`), kept in PostgreSQL until published.
///
/// A batch writes its receipts inside its own transaction; the processor publishes them once the transaction
/// has committed and only then marks them. A crash between the two publishes them again: the agent applies a
/// receipt any number of times with the same result.
package enum ReceiptOutbox {
    /// One receipt waiting to be published.
    package struct Waiting: Sendable {
        package let id: Int64
        package let agentID: String
        package let payload: [UInt8]
    }

    /// The receipts of one batch: for each agent, the standings of the manifests it sent and the records of its
    /// that the batch rejected. `standings` holds the ledger's count for every unit-month a manifest named.
    /// `displaced` holds the ids of each unit-month's person records another unit's newer report displaced
    /// (`displacedRecords`).
    package static func receipts(
        manifests: [SubmissionManifest], standings: [ControlTotals.Standing], displaced: [UnitMonth: [String]] = [:],
        rejections: [RecordRejection], keys: [(agentID: String, keyID: String)] = [], storedAtMilliseconds: Int64,
        budget: Int = receiptBudget
    ) -> [SubmissionReceipt] {
        struct UnitMonthKind: Hashable {
            let unit: DivisionCode
            let period: Period
            let kind: SubmissionManifest.Kind
        }
        let stored = Dictionary(
            standings.map { (UnitMonthKind(unit: $0.unit, period: $0.period, kind: $0.kind), $0.stored) },
            uniquingKeysWith: { first, _ in first })
        var byAgent: [String: (standings: [SubmissionReceipt.Standing], rejections: [SubmissionReceipt.Rejection])] =
            [:]
        var keysByAgent: [String: [String]] = [:]
        for key in keys {
            keysByAgent[key.agentID, default: []].append(key.keyID)
            if byAgent[key.agentID] == nil { byAgent[key.agentID] = ([], []) }
        }
        for manifest in manifests {
            let key = UnitMonthKind(unit: manifest.unit, period: manifest.period, kind: manifest.kind)
            byAgent[manifest.agentID, default: ([], [])].standings.append(
                SubmissionReceipt.Standing(
                    manifest: manifest.recordID.text, unit: manifest.unit.description,
                    period: manifest.period.description, kind: manifest.kind.rawValue, declared: manifest.records,
                    stored: stored[key] ?? 0,
                    superseded: manifest.kind == .person
                        ? displaced[UnitMonth(unit: manifest.unit, period: manifest.period)] ?? [] : []))
        }
        for rejection in rejections {
            // A message that names no agent or no record cannot be matched to anything an agent holds; nor can one
            // whose names hold a NUL (no agent's or record's does), which jsonb, where receipts wait, refuses.
            guard let agent = rejection.agentID, !agent.isEmpty, !agent.contains("\u{0}"),
                let record = rejection.recordID, !record.isEmpty, !record.contains("\u{0}")
            else { continue }
            byAgent[agent, default: ([], [])].rejections.append(
                SubmissionReceipt.Rejection(
                    record: record, reasonCode: rejection.reason.code.rawValue, field: rejection.reason.field,
                    // The reason may quote what the message carried (a key id, a unit).
                    chinese: String(rejection.chineseMessage.unicodeScalars.filter { $0 != "\u{0}" })))
        }
        // A large batch answers thousands of one agent's months: one receipt would outgrow what a broker takes in
        // one message (1 MB by default), so an agent's answer is split into receipts of at most `budget` bytes.
        var receipts: [SubmissionReceipt] = []
        for (agent, content) in byAgent.sorted(by: { $0.key < $1.key }) {
            var standings: [SubmissionReceipt.Standing] = []
            var rejections: [SubmissionReceipt.Rejection] = []
            // The keys are few (one per announcement) and go in the agent's first receipt.
            var keys = keysByAgent[agent] ?? []
            var size = keys.count * 24
            func close() {
                receipts.append(
                    SubmissionReceipt(
                        agentID: agent, storedAtMilliseconds: storedAtMilliseconds, standings: standings,
                        rejections: rejections, keys: keys))
                standings = []
                rejections = []
                keys = []
                size = 0
            }
            for standing in content.standings {
                let cost = Self.encodedSize(of: standing)
                if size > 0, size + cost > budget { close() }
                standings.append(standing)
                size += cost
            }
            for rejection in content.rejections {
                let cost = Self.encodedSize(of: rejection)
                if size > 0, size + cost > budget { close() }
                rejections.append(rejection)
                size += cost
            }
            if size > 0 { close() }
        }
        return receipts
    }

    /// The most bytes of standings and rejections one receipt carries: half of a broker's default message limit,
    /// leaving room for the JSON around them.
    package static let receiptBudget = 512 * 1024

    /// An upper bound on a standing's bytes in a receipt's JSON (ids, codes and counts are short and escape-free).
    static func encodedSize(of standing: SubmissionReceipt.Standing) -> Int {
        160 + standing.manifest.utf8.count + standing.unit.utf8.count + standing.period.utf8.count
            + standing.kind.utf8.count + standing.superseded.reduce(0) { $0 + $1.utf8.count + 3 }
    }

    /// An upper bound on a rejection's bytes in a receipt's JSON: a Chinese message's characters may be escaped.
    static func encodedSize(of rejection: SubmissionReceipt.Rejection) -> Int {
        120 + rejection.record.utf8.count + rejection.reasonCode.utf8.count + rejection.field.utf8.count
            + 6 * rejection.chinese.unicodeScalars.count
    }

    /// The ids of the records another unit's newer report displaced, for the person unit-months of `standings`
    /// that have any.
    package static func displacedRecords(of standings: [ControlTotals.Standing], on connection: PostgresConnection)
        async throws -> [UnitMonth: [String]]
    {
        let named = standings.filter { $0.kind == .person && $0.displaced > 0 }
        guard !named.isEmpty else { return [:] }
        let rows = try await connection.query(
            """
            SELECT d.unit_code, to_char(d.period, 'YYYY-MM'), d.record_id::text
            FROM unnest($1::text[], $2::date[]) AS n(unit, period)
            JOIN person_ledger_displaced d ON d.period = n.period AND d.unit_code = n.unit
            ORDER BY 1, 2, 3
            """,
            [PostgresArray(named.map(\.unit.description)), PostgresArray(named.map { "\($0.period)-01" })])
        var result: [UnitMonth: [String]] = [:]
        for row in rows {
            let (unit, period, record) = try row.decode((String, String, String).self)
            guard let unit = DivisionCode(unit), let period = Period(period) else { continue }
            result[UnitMonth(unit: unit, period: period), default: []].append(record)
        }
        return result
    }

    /// Stores receipts, each with its wire form (`Wire.encode(_: SubmissionReceipt)`), in the caller's transaction.
    package static func write(_ receipts: [(agentID: String, payload: [UInt8])], on connection: PostgresConnection)
        async throws
    {
        guard !receipts.isEmpty else { return }
        let payloads = receipts.map { String(decoding: $0.payload, as: UTF8.self) }
        try await connection.query(
            """
            INSERT INTO receipt_outbox (agent_id, payload)
            SELECT agent, payload::jsonb FROM unnest($1::text[], $2::text[]) AS r(agent, payload)
            """,
            [PostgresArray(receipts.map(\.agentID)), PostgresArray(payloads)])
    }

    /// Up to `limit` unpublished receipts, oldest first, locked for the caller's transaction; receipts another
    /// processor is publishing are skipped rather than waited for.
    package static func lockUnpublished(limit: Int, on connection: PostgresConnection) async throws -> [Waiting] {
        try await connection.query(
            """
            SELECT id, agent_id, payload::text FROM receipt_outbox WHERE published_at IS NULL
            ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
            """, [limit]
        ).map { row in
            let (id, agent, payload) = try row.decode((Int64, String, String).self)
            return Waiting(id: id, agentID: agent, payload: Array(payload.utf8))
        }
    }

    package static func markPublished(_ ids: [Int64], on connection: PostgresConnection) async throws {
        guard !ids.isEmpty else { return }
        try await connection.query(
            "UPDATE receipt_outbox SET published_at = now() WHERE id = ANY($1::bigint[])",
            [PostgresArray(describing: ids)])
    }
}
