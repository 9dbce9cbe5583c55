import Domain
import Postgres

/// Reads the indicators the processor stored: the one reader of `indicator_values` by month, for the command
/// line's `query indicators` and for `verify`, which reads inside its own snapshot.
package struct StoredIndicators: Sendable {
    package let database: PostgresClient

    package init(database: PostgresClient) { self.database = database }

    /// One unit's count indicators for one month (absent = zero).
    package func counts(unit: DivisionCode, period: Period) async throws -> IndicatorCounts {
        try await database.withConnection { connection in
            try await Self.counts(period: period, units: [unit], on: connection)[unit] ?? [:]
        }
    }

    /// A month's non-zero counts for the given units, or for every unit when `units` is nil, on a connection the
    /// caller holds (and so inside its transaction). A unit code that is not one is a damaged table, not a
    /// zero, so it throws.
    package static func counts(
        period: Period, units: [DivisionCode]?, on connection: PostgresConnection
    ) async throws -> [DivisionCode: IndicatorCounts] {
        if let units, units.isEmpty { return [:] }
        var result: [DivisionCode: IndicatorCounts] = [:]
        let rows =
            if let units {
                try await connection.query(
                    "SELECT unit_code, indicator, value FROM indicator_values WHERE period = $1::date AND value <> 0 AND unit_code = ANY($2::bpchar[])",
                    ["\(period)-01", PostgresArray(describing: units)])
            } else {
                try await connection.query(
                    "SELECT unit_code, indicator, value FROM indicator_values WHERE period = $1::date AND value <> 0",
                    ["\(period)-01"])
            }
        for row in rows {
            let (unitText, indicator, value) = try row.decode((String, String, Int64).self)
            guard let unit = DivisionCode(unitText) else {
                throw PostgresError(.decoding, "bad unit code \(unitText) stored in indicator_values")
            }
            result[unit, default: [:]][IndicatorID(rawValue: indicator)] = value
        }
        return result
    }
}
