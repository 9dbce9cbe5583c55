import Domain
import Foundation
import Postgres
import Storage

/// Reads stored count indicators over months, now or as they stood at a past moment.
package struct IndicatorHistory: Sendable {
    package let database: PostgresClient

    package init(database: PostgresClient) { self.database = database }

    /// Counts of the units for every month from `first` through `last` that has a row; absent rows are zero.
    /// With `asOf`, each unit-month is the latest version recorded at or before that moment. `only` reads just
    /// those count indicators (the others come back absent), which is what a table of thousands of units wants.
    package func counts(
        units: [DivisionCode], from first: Period, through last: Period, asOf: Date? = nil,
        only: Set<IndicatorID>? = nil
    ) async throws -> [DivisionCode: [Period: IndicatorCounts]] {
        guard !units.isEmpty, first <= last else { return [:] }
        let countIDs =
            only.map { wanted in IndicatorCatalogue.storedCounts.filter { wanted.contains($0) } }
            ?? IndicatorCatalogue.storedCounts
        // A constant first, so that the list is never empty when `only` names no stored count.
        let columns = (["0"] + countIDs.map(\.rawValue)).joined(separator: ", ")
        // The codes go as bpchar[], the column's own type: against text[] PostgreSQL casts every stored code to
        // text and scans the whole table instead of the (unit_code, period) index.
        var parameters: [any PostgresEncodable] = [PostgresArray(describing: units), "\(first)-01", "\(last)-01"]
        let sql: String
        if let asOf {
            parameters.append(Self.timestamp(asOf))
            // One index probe per unit and month for its latest version: the history keeps every version, so a
            // table of 2,628 villages must not become a scan of it (the estimate reads every village, `estimates`).
            sql = """
                SELECT to_char(h.period, 'YYYY-MM'), h.unit_code, \(columns)
                FROM unnest($1::bpchar[]) AS u (unit_code)
                CROSS JOIN generate_series($2::date, $3::date, interval '1 month') AS m (period)
                CROSS JOIN LATERAL (
                    SELECT * FROM unit_month_count_history AS h
                    WHERE h.unit_code = u.unit_code AND h.period = m.period::date AND h.recorded_at <= $4::timestamptz
                    ORDER BY h.recorded_at DESC LIMIT 1
                ) AS h
                """
        } else {
            sql = """
                SELECT to_char(period, 'YYYY-MM'), unit_code, \(columns) FROM unit_month_counts
                WHERE unit_code = ANY($1::bpchar[]) AND period BETWEEN $2::date AND $3::date
                """
        }
        return try await database.withConnection { connection in
            var result: [DivisionCode: [Period: IndicatorCounts]] = [:]
            for row in try await connection.query(sql, parameters) {
                guard let period = Period(try row.decode(String.self, at: 0)),
                    let unit = DivisionCode(try row.decode(String.self, at: 1))
                else { continue }
                var counts: IndicatorCounts = [:]
                for (offset, id) in countIDs.enumerated() {
                    let value = try row.decode(Int64.self, at: offset + 3)
                    if value != 0 { counts[id] = value }
                }
                result[unit, default: [:]][period] = counts
            }
            return result
        }
    }

    /// Estimates for the villages not yet reported (`NonResponseImputation`) for each month from `first` through
    /// `last`, from the villages' stored counts of those months and the month before the first.
    package func estimates(
        topology: Topology, from first: Period, through last: Period, asOf: Date? = nil
    ) async throws -> [Period: NonResponseImputation.Estimate] {
        guard first <= last else { return [:] }
        let villages = topology.allDivisions.filter { $0.tier == .village }.map(\.code)
        let villageCounts = try await counts(
            units: villages, from: first.previous, through: last, asOf: asOf, only: NonResponseImputation.inputCounts)
        let imputation = NonResponseImputation(topology: topology)
        var result: [Period: NonResponseImputation.Estimate] = [:]
        for period in first.through(last) { result[period] = imputation.estimate(period, villageCounts: villageCounts) }
        return result
    }

    /// The months anything was reported for, oldest first (optionally as known at `asOf`).
    package func monitoredPeriods(asOf: Date? = nil) async throws -> [Period] {
        try await database.withConnection { connection in
            let rows =
                if let asOf {
                    try await connection.query(
                        "SELECT DISTINCT to_char(period, 'YYYY-MM') FROM unit_month_count_history WHERE recorded_at <= $1::timestamptz ORDER BY 1",
                        [Self.timestamp(asOf)])
                } else {
                    try await connection.query(
                        "SELECT to_char(period, 'YYYY-MM') FROM monitored_periods ORDER BY period")
                }
            return try rows.compactMap { Period(try $0.decode(String.self, at: 0)) }
        }
    }

    /// The latest month some unit reported for. Later months may exist, holding only what earlier months carry
    /// into them (the "month before" side of new employment); they are not figures of their own yet.
    package func lastReportedPeriod() async throws -> Period? {
        try await database.withConnection { connection in
            try await connection.query(
                "SELECT to_char(max(period), 'YYYY-MM') FROM unit_month_counts WHERE reporting_units > 0"
            )
            .first.flatMap { try $0.decode(String?.self, at: 0) }.flatMap { Period($0) }
        }
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}
