import Domain
import Foundation
import Postgres

/// A stored alert, as `empmon alerts list`, the API and the report show it. A read, so it lives with the other reads:
/// the API server and the report need it without linking the alert engine (Kafka, YAML, the lifecycle).
package struct AlertRecord: Sendable, Codable, Hashable {
    package let id: Int64
    package let rule: String
    package let unit: String
    package let indicator: String
    package let severity: String
    package let state: String
    package let since: String
    package let lastPeriod: String
    package let value: Double?
    package let threshold: Double?
    package let message: String
    package let firedAt: String?
    package let resolvedAt: String?
    package let updatedAt: String

    /// Alerts, newest first; `state` filters, `within` keeps the alerts of one unit's subtree.
    package static func list(
        database: PostgresClient, state: String? = nil, within root: DivisionCode? = nil, limit: Int = 200
    ) async throws -> [AlertRecord] {
        try await database.withConnection { connection in
            let time = { (column: String) in "to_char(\(column) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS')"
            }
            return try await connection.query(
                """
                SELECT id, rule_id, unit_code, indicator, severity, state, to_char(since_period, 'YYYY-MM'), to_char(last_period, 'YYYY-MM'),
                    value, threshold, message, \(time("fired_at")), \(time("resolved_at")), \(time("updated_at"))
                FROM alerts WHERE ($1::text IS NULL OR state = $1) AND unit_code LIKE $3 ORDER BY updated_at DESC, id DESC LIMIT $2
                """, [state, limit, (root?.subtreePrefix ?? "") + "%"]
            ).map { row in
                AlertRecord(
                    id: try row.decode(Int64.self, at: 0), rule: try row.decode(String.self, at: 1),
                    unit: try row.decode(String.self, at: 2),
                    indicator: try row.decode(String.self, at: 3), severity: try row.decode(String.self, at: 4),
                    state: try row.decode(String.self, at: 5),
                    since: try row.decode(String.self, at: 6), lastPeriod: try row.decode(String.self, at: 7),
                    value: try row.decode(Double?.self, at: 8),
                    threshold: try row.decode(Double?.self, at: 9), message: try row.decode(String.self, at: 10),
                    firedAt: try row.decode(String?.self, at: 11),
                    resolvedAt: try row.decode(String?.self, at: 12), updatedAt: try row.decode(String.self, at: 13))
            }
        }
    }
}
