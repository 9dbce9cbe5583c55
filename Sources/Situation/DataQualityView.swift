import Domain
import Foundation
import Postgres

/// The data-quality view of a month: every village's measures, assessed against the city's rates of change.
package struct DataQualityTable: Sendable, Codable {
    package let period: String
    package let within: String
    /// When the month's measures were computed (they are kept until the ledger changes, and recomputed at most
    /// every ten minutes while it does).
    package let computedAt: String?
    /// The city's shares of persons whose record changed in any reported field, and in status, from the month
    /// before: what an unchanged ledger is judged against.
    package let changeRate: Double
    package let statusChangeRate: Double
    package let thresholds: QualityThresholds
    /// Villages with each flag, by signal.
    package let flagged: [String: Int]
    package let villages: [VillageQuality]
}

/// Reads and keeps the villages' month measures (`VillageMonthMeasure`): one statement per month over that month's
/// and the month before's ledger, kept in `village_month_quality` until the ledger or the rejections change.
package struct DataQualityView: Sendable {
    package let database: PostgresClient
    package let topology: Topology
    package var assessment = QualityAssessment()

    package init(database: PostgresClient, topology: Topology) {
        self.database = database
        self.topology = topology
    }

    /// The villages of `period` within `root` (the city when nil), assessed. The month and the month before are
    /// recomputed when their counts or rejections changed since, once their measures are `maxAge` seconds old
    /// (the API serves many readers during the reporting days, when the ledger changes with every batch and a
    /// month costs seconds at the city's size: 6 s for 1.7 million persons; the CLI recomputes at once); older
    /// months only when never computed. `refreshAll` recomputes every month of the year's signal now.
    /// `computedAt` says when the month's measures were computed.
    package func table(
        period: Period, within root: DivisionCode? = nil, refreshAll: Bool = false,
        maxAge: TimeInterval = DataQualityView.refreshInterval
    ) async throws -> DataQualityTable {
        let months = period.advanced(by: -11).through(period)
        let stale =
            refreshAll ? months : try await staleMonths(months, recent: [period.previous, period], olderThan: maxAge)
        for month in stale { try await refresh(month) }
        let measures = try await read(months)
        let names = Dictionary(
            topology.allDivisions.filter { $0.tier == .village }.map { ($0.code.description, $0.name) },
            uniquingKeysWith: { first, _ in first })
        let prefix = root.map(\.subtreePrefix) ?? ""
        let villages = assessment.assess(period: period, measures: measures, names: names).filter {
            $0.unit.hasPrefix(prefix)
        }
        let rates = QualityAssessment.rates(measures[period] ?? [])
        var flagged: [String: Int] = [:]
        for village in villages { for flag in village.flags { flagged[flag.rawValue, default: 0] += 1 } }
        return DataQualityTable(
            period: period.description, within: (root ?? topology.city.code).description,
            computedAt: try await refreshes([period])[period].map { IndicatorHistory.timestamp($0.at) },
            changeRate: rates.overallAny, statusChangeRate: rates.overallStatus, thresholds: assessment.thresholds,
            flagged: flagged, villages: villages)
    }

    /// The measures of `months` whose reporting has closed at `now`, each computed at least once after its close,
    /// the two latest again as `table` does, and the eleven months before each as stored (for the year's signal):
    /// what alert rules judge.
    package func closedMonthMeasures(_ months: [Period], now: Date) async throws -> [Period: [VillageMonthMeasure]] {
        let closed = months.filter { ChinaTime.closes($0, closingDay: assessment.thresholds.closingDay) <= now }
        guard let first = closed.first, let last = closed.last else { return [:] }
        let computed = try await refreshes(closed)
        let recent = Array(closed.suffix(2))
        let stale = Set(try await staleMonths(recent, recent: recent, olderThan: Self.refreshInterval))
        for month in closed {
            let close = ChinaTime.closes(month, closingDay: assessment.thresholds.closingDay)
            if (computed[month]?.at ?? .distantPast) < close || stale.contains(month) { try await refresh(month) }
        }
        let span = first.advanced(by: -11).through(last)
        for month in try await staleMonths(span, recent: []) { try await refresh(month) }
        return try await read(span)
    }

    /// How long a month's measures are served after its counts changed before they are recomputed.
    package static let refreshInterval: TimeInterval = 600

    /// When each month was computed, and at what versions of its counts and rejections (`stamps`).
    func refreshes(_ months: [Period]) async throws -> [Period: (at: Date, ledger: String, rejection: String)] {
        guard let first = months.first, let last = months.last else { return [:] }
        return try await database.withConnection { connection in
            var result: [Period: (at: Date, ledger: String, rejection: String)] = [:]
            for row in try await connection.query(
                """
                SELECT to_char(period, 'YYYY-MM'), extract(epoch FROM refreshed_at)::float8, counts_version::text, rejections_version::text
                FROM quality_refreshes WHERE period BETWEEN $1::date AND $2::date
                """, ["\(first)-01", "\(last)-01"])
            {
                guard let month = Period(try row.decode(String.self, at: 0)) else { continue }
                result[month] = (
                    Date(timeIntervalSince1970: try row.decode(Double.self, at: 1)), try row.decode(String.self, at: 2),
                    try row.decode(String.self, at: 3)
                )
            }
            return result
        }
    }

    /// Months never computed, and those of `recent` computed more than `olderThan` seconds ago and before their
    /// counts or rejections last changed.
    func staleMonths(_ months: [Period], recent: [Period], olderThan age: TimeInterval = 0) async throws -> [Period] {
        guard !months.isEmpty else { return [] }
        let stamps = try await database.withConnection { try await Self.stamps(recent, on: $0) }
        let computed = try await refreshes(months)
        let now = Date()
        return months.filter { month in
            guard let at = computed[month] else { return true }
            guard let stamp = stamps[month] else { return false }
            return (at.ledger != stamp.counts || at.rejection != stamp.rejection) && now.timeIntervalSince(at.at) >= age
        }
    }

    /// Where each month's inputs stand: a version of its and its month before's counts (every batch that changes
    /// a person's record of the month changes some count of it) and one of its rejections. Sums of the rows'
    /// transaction ids and of the rejections' ids: a write changes them whatever order writers commit in, where a
    /// latest time or id would miss a writer that started earlier and committed later.
    static func stamps(_ months: [Period], on connection: PostgresConnection) async throws
        -> [Period: (counts: String, rejection: String)]
    {
        guard !months.isEmpty else { return [:] }
        var result: [Period: (counts: String, rejection: String)] = [:]
        for row in try await connection.query(
            """
            SELECT to_char(m, 'YYYY-MM'),
                (SELECT coalesce(sum(xmin::text::bigint), 0) FROM unit_month_counts
                 WHERE period IN (m, (m - interval '1 month')::date))::text,
                (SELECT coalesce(sum(id), 0) FROM rejections WHERE period = m)::text
            FROM unnest($1::date[]) AS m
            """, [PostgresArray(months.map { "\($0)-01" })])
        {
            guard let month = Period(try row.decode(String.self, at: 0)) else { continue }
            result[month] = (try row.decode(String.self, at: 1), try row.decode(String.self, at: 2))
        }
        return result
    }

    /// Recomputes one month's measures of every village.
    package func refresh(_ period: Period) async throws {
        try await database.withTransaction { connection in
            // One refresher per month at a time; the stamp is read before the ledger, so a write during the
            // refresh leaves the month stale for the next reader.
            try await connection.query(
                "SELECT pg_advisory_xact_lock(hashtext('empmon.quality'), $1)", [period.year * 12 + period.month])
            let stamp = try await Self.stamps([period], on: connection)[period] ?? ("0", "0")
            // The statement joins two months of the ledger (3.4 million rows at the city's size): with the default
            // 4 MB its hashes spill to disk.
            try await connection.query("SET LOCAL work_mem = '256MB'")
            try await connection.query("DELETE FROM village_month_quality WHERE period = $1::date", ["\(period)-01"])
            try await connection.query(Self.measureSQL, ["\(period)-01"])
            try await connection.query(
                """
                INSERT INTO quality_refreshes (period, counts_version, rejections_version)
                VALUES ($1::date, $2::numeric, $3::numeric)
                ON CONFLICT (period) DO UPDATE SET counts_version = EXCLUDED.counts_version,
                    rejections_version = EXCLUDED.rejections_version, refreshed_at = now()
                """, ["\(period)-01", stamp.counts, stamp.rejection])
        }
    }

    func read(_ months: [Period]) async throws -> [Period: [VillageMonthMeasure]] {
        try await database.withConnection { connection in
            var result: [Period: [VillageMonthMeasure]] = [:]
            let rows = try await connection.query(
                """
                SELECT to_char(period, 'YYYY-MM'), unit_code, persons, first_reported_ms, last_reported_ms,
                    corrected_persons, corrected_statuses, last_correction_ms, reported_month_before, by_status::text,
                    joined, left_ledger, double_reports::text, rejected::text
                FROM village_month_quality WHERE period BETWEEN $1::date AND $2::date
                """, ["\(months[0])-01", "\(months[months.count - 1])-01"])
            let decoder = JSONDecoder()
            for row in rows {
                guard let period = Period(try row.decode(String.self, at: 0)) else { continue }
                let byStatus = try decoder.decode(
                    [String: VillageMonthMeasure.Changes].self, from: Data(try row.decode(String.self, at: 9).utf8))
                let doubles = try decoder.decode(
                    [VillageMonthMeasure.DoubleReport].self, from: Data(try row.decode(String.self, at: 12).utf8))
                let rejected = try decoder.decode(
                    [String: Int].self, from: Data(try row.decode(String.self, at: 13).utf8))
                result[period, default: []].append(
                    VillageMonthMeasure(
                        unit: try row.decode(String.self, at: 1), period: period,
                        persons: try row.decode(Int.self, at: 2),
                        firstReportedAtMilliseconds: try row.decode(Int64?.self, at: 3),
                        lastReportedAtMilliseconds: try row.decode(Int64?.self, at: 4),
                        correctedPersons: try row.decode(Int.self, at: 5),
                        correctedStatuses: try row.decode(Int.self, at: 6),
                        lastCorrectionAtMilliseconds: try row.decode(Int64?.self, at: 7),
                        reportedMonthBefore: try row.decode(Bool.self, at: 8), byStatus: byStatus,
                        joined: try row.decode(Int.self, at: 10), left: try row.decode(Int.self, at: 11),
                        doubleReports: doubles, rejected: rejected))
            }
            return result
        }
    }

    /// Every reported field of a person's month: a change in any of them is a change.
    private static func fields(_ alias: String) -> String {
        [
            "status", "employment_form", "work_location", "sector", "registered_unemployed", "groups",
            "seeking_work", "assisted", "trained", "income_band", "household_key",
        ].map { "\(alias).\($0)" }.joined(separator: ", ")
    }

    /// One month's measures of every village that holds persons or refused records, from the ledger of the month
    /// ($1) and the month before, the versions it replaced, the records another village's displaced, and the
    /// rejections. The months are not materialised: each use is a scan of one partition or index probes (6 s for a
    /// month of 1.7 million persons, against 10 s with them materialised).
    static let measureSQL = """
        WITH cur AS NOT MATERIALIZED (
            SELECT person_key, unit_code, reported_at_ms, \(fields("l")) FROM person_ledger AS l WHERE period = $1::date
        ), prev AS NOT MATERIALIZED (
            SELECT person_key, unit_code, \(fields("l")) FROM person_ledger AS l
            WHERE period = ($1::date - interval '1 month')::date
        ), versions AS (
            SELECT unit_code, min(reported_at_ms) AS first_ms, max(reported_at_ms) AS last_ms FROM (
                SELECT unit_code, reported_at_ms FROM cur
                UNION ALL SELECT unit_code, reported_at_ms FROM person_ledger_superseded WHERE period = $1::date
                UNION ALL SELECT unit_code, reported_at_ms FROM person_ledger_displaced WHERE period = $1::date
            ) AS v GROUP BY unit_code
        ), corrections AS (
            SELECT c.unit_code, count(DISTINCT c.person_key) AS persons,
                count(DISTINCT c.person_key) FILTER (WHERE s.status <> c.status) AS statuses,
                max(c.reported_at_ms) AS last_ms
            FROM cur AS c JOIN person_ledger_superseded AS s
                ON s.period = $1::date AND s.person_key = c.person_key AND s.unit_code = c.unit_code
            WHERE ROW(\(fields("s"))) IS DISTINCT FROM ROW(\(fields("c")))
            GROUP BY c.unit_code
        ), pairs AS (
            SELECT coalesce(c.unit_code, p.unit_code) AS unit_code, c.person_key IS NOT NULL AS now_here,
                p.person_key IS NOT NULL AS before_here, p.status AS status_before,
                c.status IS DISTINCT FROM p.status AS status_changed,
                ROW(\(fields("c"))) IS DISTINCT FROM ROW(\(fields("p"))) AS changed
            FROM cur AS c FULL JOIN prev AS p ON p.person_key = c.person_key AND p.unit_code = c.unit_code
        ), changes AS (
            SELECT unit_code,
                count(*) FILTER (WHERE now_here) AS persons,
                count(*) FILTER (WHERE before_here) AS persons_before,
                count(*) FILTER (WHERE now_here AND NOT before_here) AS joined,
                count(*) FILTER (WHERE before_here AND NOT now_here) AS left_ledger
            FROM pairs GROUP BY unit_code
        ), by_status AS (
            SELECT unit_code, jsonb_object_agg(status_before, jsonb_build_object(
                'compared', compared, 'changed', changed, 'statusChanges', status_changes)) AS changes
            FROM (
                SELECT unit_code, status_before, count(*) AS compared, count(*) FILTER (WHERE changed) AS changed,
                    count(*) FILTER (WHERE status_changed) AS status_changes
                FROM pairs WHERE now_here AND before_here GROUP BY unit_code, status_before
            ) AS s GROUP BY unit_code
        ), pairs_reported_twice AS (
            SELECT d.unit_code, c.unit_code AS other, false AS kept_here
            FROM person_ledger_displaced AS d JOIN cur AS c ON c.person_key = d.person_key
            WHERE d.period = $1::date AND d.unit_code <> c.unit_code
            UNION ALL
            SELECT c.unit_code, d.unit_code AS other, true AS kept_here
            FROM person_ledger_displaced AS d JOIN cur AS c ON c.person_key = d.person_key
            WHERE d.period = $1::date AND d.unit_code <> c.unit_code
        ), doubles AS (
            SELECT unit_code, jsonb_agg(jsonb_build_object('otherVillage', other, 'persons', persons, 'keptHere', kept)
                ORDER BY other) AS reports
            FROM (
                SELECT unit_code, other, count(*) AS persons, count(*) FILTER (WHERE kept_here) AS kept
                FROM pairs_reported_twice GROUP BY unit_code, other
            ) AS g GROUP BY unit_code
        ), refused AS (
            SELECT unit_code, jsonb_object_agg(reason_code, records) AS reasons FROM (
                SELECT unit_code::char(12) AS unit_code, reason_code, count(*) AS records FROM rejections
                WHERE period = $1::date AND unit_code ~ '^[0-9]{12}$' GROUP BY 1, 2
            ) AS r GROUP BY unit_code
        ), units AS (
            SELECT unit_code FROM changes WHERE persons > 0 UNION SELECT unit_code FROM refused
        )
        INSERT INTO village_month_quality (period, unit_code, persons, first_reported_ms, last_reported_ms,
            corrected_persons, corrected_statuses, last_correction_ms, reported_month_before, by_status, joined,
            left_ledger, double_reports, rejected)
        SELECT $1::date, u.unit_code, coalesce(ch.persons, 0), v.first_ms, v.last_ms, coalesce(co.persons, 0),
            coalesce(co.statuses, 0), co.last_ms, coalesce(ch.persons_before, 0) > 0,
            coalesce(bs.changes, '{}'::jsonb), coalesce(ch.joined, 0), coalesce(ch.left_ledger, 0),
            coalesce(d.reports, '[]'::jsonb), coalesce(r.reasons, '{}'::jsonb)
        FROM units AS u
        LEFT JOIN changes AS ch USING (unit_code)
        LEFT JOIN by_status AS bs USING (unit_code)
        LEFT JOIN versions AS v USING (unit_code)
        LEFT JOIN corrections AS co USING (unit_code)
        LEFT JOIN doubles AS d USING (unit_code)
        LEFT JOIN refused AS r USING (unit_code)
        """
}

extension DataQualityTable {
    /// The table as flat rows for CSV, workbooks and text: one village a row, flags by their raw names.
    package static let header = [
        "unit", "name", "persons", "first_reported_on", "days_late", "corrected_persons", "corrected_statuses",
        "changed_persons", "status_changes", "unchanged_chance", "status_changes_in_year", "double_reports",
        "rejected", "flags", "score",
    ]

    package var rows: [[String]] {
        villages.map { village in
            [
                village.unit, village.name, String(village.persons), village.firstReportedOn ?? "",
                village.daysLate.map(String.init) ?? "", String(village.correctedPersons),
                String(village.correctedStatuses), String(village.changedPersons), String(village.statusChanges),
                village.unchangedChance.map { String(format: "%.3g", $0) } ?? "",
                village.statusChangesInYear.map(String.init) ?? "",
                village.doubleReports.map { "\($0.otherVillage)×\($0.persons)(kept here \($0.keptHere))" }
                    .joined(separator: " "),
                village.rejected.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " "),
                village.flags.map(\.rawValue).joined(separator: "|"), String(village.score),
            ]
        }
    }

    /// The workbook's title: 数据质量 · the unit · the month.
    package func title(unitName: String) -> String { "数据质量 · \(unitName) · \(period)" }
}

extension DataQualityTable {
    /// Only the villages with a flag.
    package func keepingFlagged() -> DataQualityTable {
        DataQualityTable(
            period: period, within: within, computedAt: computedAt, changeRate: changeRate,
            statusChangeRate: statusChangeRate,
            thresholds: thresholds, flagged: flagged, villages: villages.filter { !$0.flags.isEmpty })
    }
}
