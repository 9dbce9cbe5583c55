import Domain
import Foundation
import Postgres

/// An enrolled agent as the city sees it.
package struct RegisteredAgent: Sendable, Equatable {
    package let agentID: String
    package let unit: DivisionCode
    package let name: String
    package let secret: [UInt8]
    package let createdAt: String
    package let revokedAt: String?

    package var isRevoked: Bool { revokedAt != nil }

    package init(
        agentID: String, unit: DivisionCode, name: String, secret: [UInt8], createdAt: String, revokedAt: String?
    ) {
        self.agentID = agentID
        self.unit = unit
        self.name = name
        self.secret = secret
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

/// The city's registry of agents, in PostgreSQL.
package struct AgentRegistry: Sendable {
    package let database: PostgresClient

    package init(database: PostgresClient) { self.database = database }

    /// Registers an agent for a unit's subtree and returns its credentials.
    package func enroll(unit: Division, name: String, kafkaBootstrap: String) async throws -> AgentCredentials {
        let secret = randomBytes(32)
        let agentID =
            "agent-\(unit.code)-\(String(randomBytes(4).map { String($0, radix: 16).leftPadded(to: 2) }.joined()))"
        let cityKey = try await pseudonymizationKey()
        _ = try await database.withConnection { connection in
            try await connection.query(
                "INSERT INTO agents (agent_id, unit_code, name, secret) VALUES ($1, $2, $3, $4)",
                [agentID, unit.code.description, name.isEmpty ? unit.name : name, PostgresBytes(secret)])
        }
        return AgentCredentials(
            agentID: agentID, unit: unit.code, name: name.isEmpty ? unit.name : name,
            secret: Data(secret).base64EncodedString(), cityKey: Data(cityKey).base64EncodedString(),
            kafkaBootstrap: kafkaBootstrap)
    }

    /// Stops the city accepting the agent's records. Returns false if there is no such agent or it was revoked already.
    package func revoke(agentID: String) async throws -> Bool {
        try await database.withConnection { connection in
            try await connection.query(
                "UPDATE agents SET revoked_at = now() WHERE agent_id = $1 AND revoked_at IS NULL", [agentID]
            ).affectedRows == 1
        }
    }

    package func agent(_ agentID: String) async throws -> RegisteredAgent? {
        try await list(where: "agent_id = $1", [agentID]).first
    }

    package func all() async throws -> [RegisteredAgent] { try await list(where: "true", []) }

    /// Every agent, read on a connection the caller holds (the processor's own).
    package static func all(on connection: PostgresConnection) async throws -> [RegisteredAgent] {
        try await list(where: "true", [], on: connection)
    }

    private func list(where condition: String, _ parameters: [any PostgresEncodable]) async throws -> [RegisteredAgent]
    {
        try await database.withConnection { connection in
            try await Self.list(where: condition, parameters, on: connection)
        }
    }

    private static func list(
        where condition: String, _ parameters: [any PostgresEncodable], on connection: PostgresConnection
    )
        async throws -> [RegisteredAgent]
    {
        try await connection.query(
            "SELECT agent_id, unit_code, name, secret, created_at::text, revoked_at::text FROM agents WHERE \(condition) ORDER BY agent_id",
            parameters
        ).map { row in
            let (id, unit, name, secret, created, revoked) = try row.decode(
                (String, String, String, PostgresBytes, String, String?).self)
            guard let code = DivisionCode(unit) else {
                throw PostgresError(.decoding, "agent \(id) has a bad unit code")
            }
            return RegisteredAgent(
                agentID: id, unit: code, name: name, secret: secret.bytes, createdAt: created, revokedAt: revoked)
        }
    }

    /// The city's pseudonymization key, made on first use. Concurrent first uses agree on one key.
    package func pseudonymizationKey() async throws -> [UInt8] {
        try await database.withConnection { connection in
            try await connection.query(
                "INSERT INTO city_keys (purpose, key) VALUES ('pseudonymization', $1) ON CONFLICT (purpose) DO NOTHING",
                [PostgresBytes(randomBytes(32))])
            guard
                let key = try await connection.query("SELECT key FROM city_keys WHERE purpose = 'pseudonymization'")
                    .first
            else { throw PostgresError(.usage, "the pseudonymization key vanished") }
            return try key.decode(PostgresBytes.self, at: 0).bytes
        }
    }

    private func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}
