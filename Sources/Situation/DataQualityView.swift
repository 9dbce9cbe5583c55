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

    /// Where each month's inputs stand (`empmon_quality_versions`, migration 15).
    static func stamps(_ months: [Period], on connection: PostgresConnection) async throws
        -> [Period: (counts: String, rejection: String)]
    {
        guard !months.isEmpty else { return [:] }
        var result: [Period: (counts: String, rejection: String)] = [:]
        for row in try await connection.query(
            """
            SELECT to_char(m, 'YYYY-MM'), v.counts::text, v.rejections::text
            FROM unnest($1::date[]) AS m CROSS JOIN LATERAL empmon_quality_versions(m) AS v
            """, [PostgresArray(months.map { "\($0)-01" })])
        {
            guard let month = Period(try row.decode(String.self, at: 0)) else { continue }
            result[month] = (try row.decode(String.self, at: 1), try row.decode(String.self, at: 2))
        }
        return result
    }

    /// Recomputes one month's measures of every village (`empmon_refresh_village_quality`, migration 15: a function
    /// of the schema's owner, so that the API, which may not read persons, can have them recomputed).
    package func refresh(_ period: Period) async throws {
        try await database.withConnection { connection in
            _ = try await connection.query("SELECT empmon_refresh_village_quality($1::date)", ["\(period)-01"])
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
