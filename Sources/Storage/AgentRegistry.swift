import Domain
import Foundation
import Postgres

/// An enrolled agent as the city sees it: public keys, never a private one.
package struct RegisteredAgent: Sendable, Equatable {
    /// A public key and, for one rotated out, when the city stops accepting it (ms since 1970).
    package struct Key: Sendable, Equatable {
        package let publicKey: AgentPublicKey
        package let retiresAtMilliseconds: Int64?

        package init(publicKey: AgentPublicKey, retiresAtMilliseconds: Int64?) {
            self.publicKey = publicKey
            self.retiresAtMilliseconds = retiresAtMilliseconds
        }
    }

    package let agentID: String
    package let unit: DivisionCode
    package let name: String
    package let keys: [Key]
    /// The HMAC secret of an agent enrolled before key pairs, until the transition ends.
    package let legacySecret: [UInt8]?
    /// SHA-256 of the agent's unused one-time enrolment code, and when it expires.
    package let enrolmentCodeSHA256: [UInt8]?
    package let enrolmentExpiresAtMilliseconds: Int64?
    package let createdAt: String
    package let revokedAt: String?
    /// Records the agent signed at or after this time are refused.
    package let revokedAtMilliseconds: Int64?

    package var isRevoked: Bool { revokedAt != nil }

    package init(
        agentID: String, unit: DivisionCode, name: String, keys: [Key] = [], legacySecret: [UInt8]? = nil,
        enrolmentCodeSHA256: [UInt8]? = nil, enrolmentExpiresAtMilliseconds: Int64? = nil, createdAt: String,
        revokedAt: String?, revokedAtMilliseconds: Int64? = nil
    ) {
        self.agentID = agentID
        self.unit = unit
        self.name = name
        self.keys = keys
        self.legacySecret = legacySecret
        self.enrolmentCodeSHA256 = enrolmentCodeSHA256
        self.enrolmentExpiresAtMilliseconds = enrolmentExpiresAtMilliseconds
        self.createdAt = createdAt
        self.revokedAt = revokedAt
        self.revokedAtMilliseconds = revokedAtMilliseconds ?? (revokedAt == nil ? nil : 0)
    }

    package func key(_ keyID: String) -> Key? { keys.first { $0.publicKey.keyID == keyID } }

    /// The keys accepted at `milliseconds`.
    package func liveKeys(at milliseconds: Int64) -> [Key] {
        keys.filter { ($0.retiresAtMilliseconds ?? .max) > milliseconds }
    }

    package var signatureScheme: SignatureScheme? {
        !keys.isEmpty ? .ed25519Merkle : legacySecret != nil ? .hmacSHA256 : nil
    }
}

/// The city's registry of agents, in PostgreSQL.
package struct AgentRegistry: Sendable {
    package let database: PostgresClient

    package init(database: PostgresClient) { self.database = database }

    /// How long a one-time enrolment code may wait for its agent.
    package static let enrolmentCodeLifetime: Duration = .seconds(30 * 24 * 3600)

    /// Registers an agent for a unit's subtree and returns what it needs. With `publicKey` (a key the operator
    /// received from the agent's computer), the key is registered now; without, the credentials carry a
    /// one-time code with which the agent announces the key it makes (`agent init`).
    package func enroll(
        unit: Division, name: String, kafkaBootstrap: String, publicKey: AgentPublicKey? = nil
    ) async throws -> AgentCredentials {
        let agentID =
            "agent-\(unit.code)-\(String(Self.randomBytes(4).map { String($0, radix: 16).leftPadded(to: 2) }.joined()))"
        let code = publicKey == nil ? EnrolmentCode.make() : nil
        let cityKey = try await pseudonymizationKey()
        let agentName = name.isEmpty ? unit.name : name
        try await database.withConnection { connection in
            try await connection.withTransaction { connection in
                try await connection.query(
                    """
                    INSERT INTO agents (agent_id, unit_code, name, enrolment_code_sha256, enrolment_expires_at)
                    VALUES ($1, $2, $3, $4, CASE WHEN $4::bytea IS NULL THEN NULL ELSE now() + make_interval(secs => $5::float8) END)
                    """,
                    [
                        agentID, unit.code.description, agentName,
                        code.map { PostgresBytes(EnrolmentCode.digest($0)) },
                        Double(Self.enrolmentCodeLifetime.components.seconds),
                    ])
                if let publicKey { try await Self.insert(publicKey, agentID: agentID, on: connection) }
            }
        }
        return AgentCredentials(
            agentID: agentID, unit: unit.code, name: agentName, enrolmentCode: code,
            cityKey: Data(cityKey).base64EncodedString(), kafkaBootstrap: kafkaBootstrap)
    }

    /// Registers the keys of a batch's checked announcements, in order, and returns each agent's keys the city
    /// now holds among them (a repeat of a registered key included: the agent announces again until it hears).
    /// A key proved by an enrolment code is registered only while the code is unused, so that two keys sent with
    /// one code in one batch do not both count; a rotation retires the key it names `overlap` from now.
    package static func register(
        _ announcements: [(announcement: KeyAnnouncement, retiring: String?)], overlap: Duration,
        on connection: PostgresConnection
    ) async throws -> [(agentID: String, keyID: String)] {
        var confirmed: [(agentID: String, keyID: String)] = []
        for (announcement, retiring) in announcements {
            let agentID = announcement.agentID
            let key = announcement.publicKey
            if case .enrolmentCode(let code) = announcement.proof {
                // The intake checked the code's expiry to give the clerk a reason; this statement is what decides:
                // it consumes the code, so a second announcement with it in the same batch registers nothing.
                try await connection.query(
                    """
                    WITH used AS (
                        UPDATE agents SET enrolment_code_sha256 = NULL, enrolment_expires_at = NULL
                        WHERE agent_id = $1 AND enrolment_code_sha256 = $4 AND enrolment_expires_at > now()
                        RETURNING agent_id)
                    INSERT INTO agent_keys (agent_id, key_id, public_key) SELECT agent_id, $2, $3 FROM used
                    ON CONFLICT (agent_id, key_id) DO NOTHING
                    """, [agentID, key.keyID, PostgresBytes(key.bytes), PostgresBytes(EnrolmentCode.digest(code))])
            } else {
                try await insert(key, agentID: agentID, on: connection)
            }
            if let retiring {
                try await connection.query(
                    """
                    UPDATE agent_keys SET retires_at = now() + make_interval(secs => $3)
                    WHERE agent_id = $1 AND key_id = $2
                        AND (retires_at IS NULL OR retires_at > now() + make_interval(secs => $3))
                    """, [agentID, retiring, Double(overlap.components.seconds)])
            }
            let held = try await connection.query(
                "SELECT 1 FROM agent_keys WHERE agent_id = $1 AND key_id = $2", [agentID, key.keyID])
            if !held.isEmpty { confirmed.append((agentID, key.keyID)) }
        }
        return confirmed
    }

    /// Registers a key the operator vouches for (received from the agent's computer), ending any unused code.
    static func insert(_ key: AgentPublicKey, agentID: String, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO agent_keys (agent_id, key_id, public_key) VALUES ($1, $2, $3)
            ON CONFLICT (agent_id, key_id) DO NOTHING
            """, [agentID, key.keyID, PostgresBytes(key.bytes)])
        try await connection.query(
            "UPDATE agents SET enrolment_code_sha256 = NULL, enrolment_expires_at = NULL WHERE agent_id = $1",
            [agentID])
    }

    /// Stops the city accepting what the agent signs from `at` (default now). Returns false if there is no such
    /// agent or it was revoked already.
    package func revoke(agentID: String, at: Date? = nil) async throws -> Bool {
        try await database.withConnection { connection in
            try await connection.query(
                "UPDATE agents SET revoked_at = coalesce(to_timestamp($2::float8), now()) WHERE agent_id = $1 AND revoked_at IS NULL",
                [agentID, at.map { $0.timeIntervalSince1970 }]
            ).affectedRows == 1
        }
    }

    /// Ends the HMAC transition: drops every agent's secret. Agents still on HMAC (named in the answer) can then
    /// send nothing the city accepts until they are enrolled again.
    package func endHMACTransition() async throws -> [String] {
        try await database.withConnection { connection in
            try await connection.withTransaction { connection in
                guard try await Self.hasLegacySecrets(on: connection) else { return [] }
                let left = try await connection.query(
                    """
                    SELECT s.agent_id FROM legacy_hmac_secrets s JOIN agents a USING (agent_id)
                    WHERE a.revoked_at IS NULL AND NOT EXISTS (SELECT 1 FROM agent_keys k WHERE k.agent_id = s.agent_id)
                    ORDER BY 1
                    """
                ).map { try $0.decode(String.self, at: 0) }
                try await connection.execute(script: "DROP TABLE legacy_hmac_secrets")
                return left
            }
        }
    }

    /// Agents that still sign with HMAC: those with a secret and no key.
    package func agentsOnHMAC() async throws -> [String] {
        try await all().filter { $0.signatureScheme == .hmacSHA256 && !$0.isRevoked }.map(\.agentID)
    }

    package func all() async throws -> [RegisteredAgent] {
        try await database.withConnection { connection in try await Self.all(on: connection) }
    }

    static func hasLegacySecrets(on connection: PostgresConnection) async throws -> Bool {
        try await connection.query("SELECT to_regclass('legacy_hmac_secrets') IS NOT NULL").first?.decode(
            Bool.self, at: 0) ?? false
    }

    /// Every agent, read on a connection the caller holds (the processor's own).
    package static func all(on connection: PostgresConnection) async throws -> [RegisteredAgent] {
        var keys: [String: [RegisteredAgent.Key]] = [:]
        for row in try await connection.query(
            """
            SELECT agent_id, public_key, (extract(epoch FROM retires_at) * 1000)::int8 FROM agent_keys
            ORDER BY agent_id, registered_at
            """)
        {
            let (agentID, publicKey, retires) = try row.decode((String, PostgresBytes, Int64?).self)
            keys[agentID, default: []].append(
                .init(publicKey: AgentPublicKey(publicKey.bytes), retiresAtMilliseconds: retires))
        }
        var secrets: [String: [UInt8]] = [:]
        if try await hasLegacySecrets(on: connection) {
            for row in try await connection.query("SELECT agent_id, secret FROM legacy_hmac_secrets") {
                let (agentID, secret) = try row.decode((String, PostgresBytes).self)
                secrets[agentID] = secret.bytes
            }
        }
        return try await connection.query(
            """
            SELECT agent_id, unit_code, name, enrolment_code_sha256,
                (extract(epoch FROM enrolment_expires_at) * 1000)::int8, created_at::text, revoked_at::text,
                (extract(epoch FROM revoked_at) * 1000)::int8
            FROM agents ORDER BY agent_id
            """
        ).map { row in
            let (id, unit, name, code, expires, created, revoked, revokedAt) = try row.decode(
                (String, String, String, PostgresBytes?, Int64?, String, String?, Int64?).self)
            guard let unitCode = DivisionCode(unit) else {
                throw PostgresError(.decoding, "agent \(id) has a bad unit code")
            }
            return RegisteredAgent(
                agentID: id, unit: unitCode, name: name, keys: keys[id] ?? [], legacySecret: secrets[id],
                enrolmentCodeSHA256: code?.bytes, enrolmentExpiresAtMilliseconds: expires, createdAt: created,
                revokedAt: revoked, revokedAtMilliseconds: revokedAt)
        }
    }

    /// The city's pseudonymization key, made on first use. Concurrent first uses agree on one key.
    package func pseudonymizationKey() async throws -> [UInt8] {
        try await database.withConnection { connection in
            try await connection.query(
                "INSERT INTO city_keys (purpose, key) VALUES ('pseudonymization', $1) ON CONFLICT (purpose) DO NOTHING",
                [PostgresBytes(Self.randomBytes(32))])
            guard
                let key = try await connection.query("SELECT key FROM city_keys WHERE purpose = 'pseudonymization'")
                    .first
            else { throw PostgresError(.usage, "the pseudonymization key vanished") }
            return try key.decode(PostgresBytes.self, at: 0).bytes
        }
    }

    private static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}
