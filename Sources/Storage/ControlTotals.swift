import Domain
import Postgres

/// Control totals: the manifests agents send after each submission, stored beside the ledger, and the
/// ledger reconciled against the latest manifest of each unit-month. A shortfall is a loss somewhere
/// between the clerk's file and the ledger: a broker's retention, a misconfigured topic, an operator who
/// moved an offset.
package enum ControlTotals {
    /// One unit-month's latest manifest beside what the ledger holds.
    package struct Standing: Sendable, Equatable, CustomStringConvertible {
        package let kind: SubmissionManifest.Kind
        package let unit: DivisionCode
        package let period: Period
        /// Records the latest manifest declared; nil when records arrived but no manifest did.
        package let declared: Int?
        package let stored: Int
        /// Records of the unit-month the ledger holds under another unit's newer report of the same person
        /// (`Displacement`): accounted for, not missing. `verify --manifests` counts them in `stored` instead.
        package let displaced: Int
        /// Whether the stored records' ids hash to the manifest's digest (nil when not compared).
        package let digestMatches: Bool?

        package init(
            kind: SubmissionManifest.Kind, unit: DivisionCode, period: Period, declared: Int?, stored: Int,
            displaced: Int = 0, digestMatches: Bool?
        ) {
            self.kind = kind
            self.unit = unit
            self.period = period
            self.declared = declared
            self.stored = stored
            self.displaced = displaced
            self.digestMatches = digestMatches
        }

        package var missing: Int { max(0, (declared ?? 0) - stored - displaced) }

        package var description: String {
            guard let declared else {
                return "\(unit) \(period) \(kind.rawValue): \(stored) records in the ledger, but no manifest arrived"
            }
            if stored < declared {
                return
                    "\(unit) \(period) \(kind.rawValue): the ledger lacks \(declared - stored) of the \(declared) records its agent delivered"
            }
            if stored == declared {
                return
                    "\(unit) \(period) \(kind.rawValue): the ledger's \(stored) records are not the \(declared) its agent declared (their ids differ)"
            }
            return
                "\(unit) \(period) \(kind.rawValue): the ledger holds \(stored) records, \(stored - declared) more than the \(declared) its agent declared"
        }
    }

    /// Stores a batch's manifests (one seen before is ignored) and returns the standing of every unit-month they
    /// name: its latest manifest beside the ledger's count (`missing` > 0: the ledger lacks records).
    package static func store(_ manifests: [SubmissionManifest], on connection: PostgresConnection) async throws
        -> [Standing]
    {
        guard !manifests.isEmpty else { return [] }
        func column(_ value: (SubmissionManifest) -> String) -> PostgresArray { PostgresArray(manifests.map(value)) }
        try await connection.query(
            """
            INSERT INTO submission_manifests (record_id, agent_id, unit_code, period, kind, records, digest, reported_at_ms)
            SELECT id::uuid, agent, unit, period::date, kind, records::integer, decode(digest, 'hex'), reported::bigint
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
                AS m(id, agent, unit, period, kind, records, digest, reported)
            ON CONFLICT (record_id) DO NOTHING
            """,
            [
                column(\.recordID.text), column(\.agentID), column(\.unit.description), column { "\($0.period)-01" },
                column(\.kind.rawValue),
                column { String($0.records) }, column(\.digestHex),
                column { String($0.reportedAtMilliseconds) },
            ])
        let rows = try await connection.query(
            """
            WITH named AS (
                SELECT DISTINCT unit, period::date AS period, kind FROM unnest($1::text[], $2::text[], $3::text[]) AS n(unit, period, kind)),
            \(standingSQL(from: "named n JOIN submission_manifests m ON (m.unit_code, m.period, m.kind) = (n.unit, n.period, n.kind)"))
            """,
            [column(\.unit.description), column { "\($0.period)-01" }, column(\.kind.rawValue)])
        return try rows.compactMap(standing)
    }

    /// Every unit-month with a manifest in `first…last`: its latest manifest beside the ledger's count
    /// (cheap: the village's reported persons, the activity report's presence). For alert rules.
    package static func standings(from first: Period, through last: Period, on connection: PostgresConnection)
        async throws -> [Standing]
    {
        try await connection.query(
            """
            WITH \(standingSQL(from: "submission_manifests m WHERE m.period BETWEEN $1::date AND $2::date"))
            """,
            ["\(first)-01", "\(last)-01"]
        ).compactMap(standing)
    }

    /// The latest manifest of each unit-month in `from` beside the ledger's count of it.
    private static func standingSQL(from source: String) -> String {
        """
        latest AS (
            SELECT DISTINCT ON (m.period, m.unit_code, m.kind) m.kind, m.unit_code, m.period, m.records
            FROM \(source)
            ORDER BY m.period, m.unit_code, m.kind, m.reported_at_ms DESC, m.record_id DESC)
        SELECT l.kind, l.unit_code, to_char(l.period, 'YYYY-MM'), l.records,
            CASE l.kind
                WHEN 'person' THEN COALESCE((SELECT v.persons FROM village_reports v WHERE v.period = l.period AND v.unit_code = l.unit_code), 0)
                ELSE (SELECT count(*) FROM activity_ledger a WHERE a.period = l.period AND a.unit_code = l.unit_code)::integer
            END,
            CASE l.kind
                WHEN 'person' THEN (SELECT count(*) FROM person_ledger_displaced d WHERE d.period = l.period AND d.unit_code = l.unit_code)::integer
                ELSE 0
            END
        FROM latest l
        """
    }

    private static func standing(_ row: PostgresRow) throws -> Standing? {
        let (kind, unit, period, declared, stored, displaced) = try row.decode(
            (String, String, String, Int, Int, Int).self)
        guard let kind = SubmissionManifest.Kind(rawValue: kind), let unit = DivisionCode(unit),
            let period = Period(period)
        else { return nil }
        return Standing(
            kind: kind, unit: unit, period: period, declared: declared, stored: stored, displaced: displaced,
            digestMatches: nil)
    }

    /// The exact reconciliation (`verify --manifests`): for every unit-month of `periods` (every month when
    /// empty) with a manifest or ledger rows, the latest manifest's count and digest against the ledger's
    /// record ids. Returns only the unit-months that disagree, or that have records but no manifest.
    package static func reconcile(periods: [Period], on connection: PostgresConnection) async throws -> [Standing] {
        let months = PostgresArray(periods.map { "\($0)-01" })
        let rows = try await connection.query(
            """
            WITH latest AS (
                SELECT DISTINCT ON (period, unit_code, kind) kind, unit_code, period, records, digest
                FROM submission_manifests WHERE cardinality($1::date[]) = 0 OR period = ANY($1::date[])
                ORDER BY period, unit_code, kind, reported_at_ms DESC, record_id DESC),
            ledger AS (
                -- A unit-month's records are those the ledger holds and those another unit's newer report displaced.
                SELECT 'person'::text AS kind, unit_code, period, count(*)::integer AS records,
                    sha256(convert_to(string_agg(record_id::text, ',' ORDER BY record_id), 'UTF8')) AS digest
                FROM (
                    SELECT unit_code, period, record_id FROM person_ledger
                    WHERE cardinality($1::date[]) = 0 OR period = ANY($1::date[])
                    UNION ALL
                    SELECT unit_code, period, record_id FROM person_ledger_displaced
                    WHERE cardinality($1::date[]) = 0 OR period = ANY($1::date[])) AS p
                GROUP BY unit_code, period
                UNION ALL
                SELECT 'activity', unit_code, period, count(*)::integer,
                    sha256(convert_to(string_agg(record_id::text, ',' ORDER BY record_id), 'UTF8'))
                FROM activity_ledger WHERE cardinality($1::date[]) = 0 OR period = ANY($1::date[])
                GROUP BY unit_code, period)
            SELECT COALESCE(m.kind, l.kind), COALESCE(m.unit_code, l.unit_code), to_char(COALESCE(m.period, l.period), 'YYYY-MM'),
                m.records, COALESCE(l.records, 0), m.digest = l.digest
            FROM latest m FULL JOIN ledger l ON (m.kind, m.unit_code, m.period) = (l.kind, l.unit_code, l.period)
            WHERE m.records IS NULL OR l.records IS NULL OR m.digest IS DISTINCT FROM l.digest
            ORDER BY 3, 2, 1
            """,
            [months])
        return try rows.compactMap { row in
            let (kind, unit, period, declared, stored, matches) = try row.decode(
                (String, String, String, Int?, Int, Bool?).self)
            guard let kind = SubmissionManifest.Kind(rawValue: kind), let unit = DivisionCode(unit),
                let period = Period(period)
            else { return nil }
            return Standing(
                kind: kind, unit: unit, period: period, declared: declared, stored: stored,
                digestMatches: matches ?? false)
        }
    }
}
