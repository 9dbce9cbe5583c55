import Domain
import Postgres

/// Records the city refused, newest first, as the API lists them.
package struct RejectionRecord: Encodable, Sendable {
    package let id: Int64
    package let unit: String?
    package let agent: String?
    package let reason: String
    package let field: String
    package let message: String
    /// China time, `YYYY-MM-DD HH:MM:SS`.
    package let rejectedAt: String

    /// The newest `limit` rejections of records from `scope`'s subtree; the city's scope also sees those whose unit
    /// could not be read.
    package static func list(database: PostgresClient, scope: DivisionCode, isCity: Bool, limit: Int) async throws
        -> [RejectionRecord]
    {
        try await database.withConnection { connection in
            try await connection.query(
                """
                SELECT id, unit_code, agent_id, reason_code, field, message_zh, to_char(rejected_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS')
                FROM rejections WHERE $1 OR unit_code LIKE $2 ORDER BY id DESC LIMIT $3
                """, [isCity, scope.subtreePrefix + "%", limit]
            ).map { row in
                let (id, unit, agent, reason, field, message, at) = try row.decode(
                    (Int64, String?, String?, String, String, String, String).self)
                return RejectionRecord(
                    id: id, unit: unit, agent: agent, reason: reason, field: field, message: message, rejectedAt: at)
            }
        }
    }
}
