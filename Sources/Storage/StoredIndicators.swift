import Domain
import Postgres

/// Reads the indicators the processor stored.
package struct StoredIndicators: Sendable {
    package let database: PostgresClient

    package init(database: PostgresClient) { self.database = database }

    /// One unit's count indicators for one month (absent = zero).
    package func counts(unit: DivisionCode, period: Period) async throws -> IndicatorCounts {
        try await counts(units: [unit], period: period)[unit] ?? [:]
    }

    /// Several units' counts for one month, in one query.
    package func counts(units: [DivisionCode], period: Period) async throws -> [DivisionCode: IndicatorCounts] {
        guard !units.isEmpty else { return [:] }
        return try await database.withConnection { connection in
            var result: [DivisionCode: IndicatorCounts] = [:]
            for row in try await connection.query(
                "SELECT unit_code, indicator, value FROM indicator_values WHERE period = $1::date AND unit_code = ANY($2::bpchar[])",
                ["\(period)-01", PostgresArray(describing: units)])
            {
                let (unitText, indicator, value) = try row.decode((String, String, Int64).self)
                guard let unit = DivisionCode(unitText) else { continue }
                result[unit, default: [:]][IndicatorID(rawValue: indicator)] = value
            }
            return result
        }
    }
}
