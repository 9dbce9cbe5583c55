import Crypto
import Domain
import Foundation
import Postgres

/// Who may read what through the API: analysts and viewers, each confined to one unit's subtree.
package struct APIAccess: Sendable, Hashable {
    package enum Role: String, Sendable, Codable, CaseIterable { case analyst, viewer }

    package let tokenID: Int64
    package let scope: DivisionCode
    package let role: Role

    package func covers(_ unit: DivisionCode) -> Bool { unit.isInSubtree(of: scope) }

    package init(tokenID: Int64, scope: DivisionCode, role: Role) {
        self.tokenID = tokenID
        self.scope = scope
        self.role = role
    }
}

/// Creates, checks and revokes bearer tokens (`api_tokens`; only their SHA-256 is stored).
package struct APITokens: Sendable {
    package let database: PostgresClient

    package init(database: PostgresClient) { self.database = database }

    /// A new token: `emt_` and 43 base64url characters (256 random bits). Returned once, never stored.
    package func create(scope: DivisionCode, role: APIAccess.Role, name: String) async throws -> (
        id: Int64, token: String
    ) {
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255, using: &generator) }
        let token =
            "emt_"
            + Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(
                of: "/", with: "_"
            )
            .replacingOccurrences(of: "=", with: "")
        let id = try await database.withConnection { connection in
            try await connection.query(
                "INSERT INTO api_tokens (token_sha256, scope, role, name) VALUES ($1::bytea, $2, $3, $4) RETURNING id",
                [Self.hashHex(token), scope.description, role.rawValue, name]
            ).first.map { try $0.decode(Int64.self, at: 0) } ?? 0
        }
        return (id, token)
    }

    /// The access a presented token grants, nil when it is unknown or revoked.
    ///
    /// The last use is stamped at most once a minute: a dashboard sends its requests in parallel with one
    /// token, and an update of the same row on each would queue them behind each other's row lock.
    package func access(for token: String) async throws -> APIAccess? {
        guard token.hasPrefix("emt_"), token.count < 200 else { return nil }
        return try await database.withConnection { connection in
            guard
                let row = try await connection.query(
                    """
                    WITH found AS (
                        SELECT id, scope, role, last_used_at FROM api_tokens WHERE token_sha256 = $1::bytea AND revoked_at IS NULL
                    ), stamped AS (
                        UPDATE api_tokens SET last_used_at = now() FROM found
                        WHERE api_tokens.id = found.id AND (found.last_used_at IS NULL OR found.last_used_at < now() - interval '1 minute')
                    )
                    SELECT id, scope, role FROM found
                    """,
                    [Self.hashHex(token)]
                ).first
            else { return nil }
            let (id, scope, role) = try row.decode((Int64, String, String).self)
            guard let code = DivisionCode(scope), let parsed = APIAccess.Role(rawValue: role) else { return nil }
            return APIAccess(tokenID: id, scope: code, role: parsed)
        }
    }

    @discardableResult
    package func revoke(id: Int64) async throws -> Bool {
        try await database.withConnection { connection in
            try await connection.query(
                "UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", [id]
            ).affectedRows == 1
        }
    }

    package struct Listed: Sendable, Codable {
        package let id: Int64
        package let scope: String
        package let role: String
        package let name: String
        package let createdAt: String
        package let lastUsedAt: String?
        package let revokedAt: String?
    }

    package func list() async throws -> [Listed] {
        try await database.withConnection { connection in
            let time = { (column: String) in "to_char(\(column) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI')" }
            return try await connection.query(
                "SELECT id, scope, role, name, \(time("created_at")), \(time("last_used_at")), \(time("revoked_at")) FROM api_tokens ORDER BY id"
            ).map { row in
                let (id, scope, role, name, created, used, revoked) = try row.decode(
                    (Int64, String, String, String, String, String?, String?).self)
                return Listed(
                    id: id, scope: scope, role: role, name: name, createdAt: created, lastUsedAt: used,
                    revokedAt: revoked)
            }
        }
    }

    static func hashHex(_ token: String) -> String {
        "\\x" + SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
