import Agent
import DevStack
import Domain
import Foundation
import Kafka
import Postgres
import Storage
import TestSupport
import Testing
import Wire

func keyMessage(_ announcement: KeyAnnouncement) throws -> KafkaProducerMessage {
    KafkaProducerMessage(
        topic: WireTopics.personStatus, key: announcement.agentID, value: try Wire.encode(announcement),
        headers: [
            KafkaHeader(key: "empmon.kind", string: WireKinds.key),
            KafkaHeader(key: "empmon.agent", string: announcement.agentID),
            KafkaHeader(key: "empmon.record", string: announcement.recordID.text),
        ])
}

extension Pipeline {
    /// The reason code of each of `ids` the city rejected.
    func rejectionReasons(_ ids: [String]) async throws -> [String: String] {
        let connection = try await database.connect()
        var reasons: [String: String] = [:]
        for row in try await connection.query(
            "SELECT record_id, reason_code FROM rejections WHERE record_id = ANY($1::text[])",
            ["{" + ids.joined(separator: ",") + "}"])
        {
            let (id, reason) = try row.decode((String, String).self)
            reasons[id] = reason
        }
        return reasons
    }

    func ledgerRecords(agent: String) async throws -> Int64 {
        try await query("SELECT count(*)::bigint FROM person_ledger WHERE agent_id = $1", [agent], as: Int64.self)
            .first ?? -1
    }

    /// Every row of every table, as the text a thief with a copy of the database would hold.
    func everythingStored() async throws -> String {
        let connection = try await database.connect()
        let tables = try await connection.query(
            "SELECT quote_ident(table_name) FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        ).map { try $0.decode(String.self, at: 0) }
        var text = ""
        for table in tables {
            for row in try await connection.query("SELECT row_to_json(t)::text FROM \(table) t") {
                text += try row.decode(String.self, at: 0) + "\n"
            }
        }
        return text
    }
}

private func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

extension SharedStackTests {
    @Test(
        "Enrolment by code: the key is made on the agent, announced, and nothing signed with it leaves before the city confirms it; a rotation signs with the old key until confirmed, and the old key is refused after its overlap"
    )
    func enrolmentAndRotation() async throws {
        try await Pipeline.with { pipeline in
            let sandbox = try await AgentSandbox.make(
                unit: "140403001001", environment: pipeline.environment, announce: false)
            defer { try? FileManager.default.removeItem(at: sandbox.directory) }
            let (october, _) = makeLedger(count: 5, seed: 41)
            let first = try sandbox.agent([
                "submit", "--period", "2024-10", try sandbox.write("10.csv", october), "--timeout", "3",
            ])
            #expect(first.output.contains("has not confirmed it yet") && first.status == 0, "\(first.output)")
            #expect(try await pipeline.query("SELECT count(*)::bigint FROM agent_keys", as: Int64.self) == [0])

            // The processor reads the announcement, registers the key and answers in a receipt.
            _ = try pipeline.processAll()
            let enrolled = try await pipeline.query(
                "SELECT key_id FROM agent_keys WHERE agent_id = $1", [sandbox.agentID], as: String.self)
            #expect(enrolled.count == 1)
            #expect(
                try await pipeline.query(
                    "SELECT count(*)::bigint FROM agents WHERE enrolment_code_sha256 IS NOT NULL", as: Int64.self) == [
                        0
                    ])
            let confirmed = try sandbox.agent(["flush", "--timeout", "20"])
            #expect(
                confirmed.output.contains("the city confirmed key \(enrolled.first ?? "?")")
                    && confirmed.output.contains("delivered 5 of 5"), "\(confirmed.output)")
            _ = try pipeline.processAll()
            #expect(try await pipeline.ledgerRecords(agent: sandbox.agentID) == 5)

            // Rotation: announced signed by the key it replaces; the old key signs until the city confirms.
            let old = try #require(try AgentKeyring.key(try AgentWorkspace(home: sandbox.home).keyring().current))
            let rotate = try sandbox.agent(["rotate-key", "--timeout", "20"])
            #expect(
                rotate.output.contains("signing with the current key until the city confirms it"), "\(rotate.output)")
            _ = try pipeline.processAll()
            let flushed = try sandbox.agent(["flush", "--timeout", "20"])
            let new = try #require(try AgentKeyring.key(try AgentWorkspace(home: sandbox.home).keyring().current))
            #expect(new.keyID != old.keyID && flushed.output.contains("the city confirmed key \(new.keyID)"))
            let retiring = try await pipeline.query(
                "SELECT key_id FROM agent_keys WHERE agent_id = $1 AND retires_at > now() + interval '13 days'",
                [sandbox.agentID], as: String.self)
            #expect(retiring == [old.keyID])
            let (november, _) = makeLedger(count: 5, seed: 42)
            let submitted = try sandbox.agent(["submit", "--period", "2024-11", try sandbox.write("11.csv", november)])
            #expect(submitted.status == 0)

            // Within the overlap the old key is accepted; once it has passed, refused.
            let oldSigner = AgentSigner.ed25519(old, agentID: sandbox.agentID)
            var inWindow = person("d", unit: "140403001001", period: "2024-12", .employed, agent: sandbox.agentID)
            oldSigner.sign(&inWindow)
            try await produce([try message(inWindow)])
            _ = try pipeline.processAll()
            let stored = try await pipeline.ledgerRecords(agent: sandbox.agentID)
            let inWindowReason = try await pipeline.rejectionReasons([inWindow.recordID.text])
            #expect(stored == 11, "\(stored) stored; \(inWindowReason); \(submitted.output)")
            try await pipeline.database.connect().query(
                "UPDATE agent_keys SET retires_at = now() - interval '1 second' WHERE key_id = $1", [old.keyID])
            var late = person("e", unit: "140403001001", period: "2024-12", .employed, agent: sandbox.agentID)
            oldSigner.sign(&late)
            var current = person("f", unit: "140403001001", period: "2024-12", .employed, agent: sandbox.agentID)
            AgentSigner.ed25519(new, agentID: sandbox.agentID).sign(&current)
            try await produce([try message(late), try message(current)])
            _ = try pipeline.processAll()
            #expect(try await pipeline.rejectionReasons([late.recordID.text]) == [late.recordID.text: "key.retired"])
            #expect(try await pipeline.ledgerRecords(agent: sandbox.agentID) == 12)
        }
    }

    @Test(
        "A copy of everything the city stores holds no key an agent signs with, and nothing forged with it passes: seals, enrolment codes, rotations, HMAC"
    )
    func stolenDatabase() async throws {
        try await Pipeline.with { pipeline in
            let luzhou = try await pipeline.agent(for: "140403000000")
            let shangdang = try await pipeline.agent(for: "140404000000")
            let waiting = try await AgentSandbox.make(
                unit: "140405000000", environment: pipeline.environment, announce: false)
            defer {
                for sandbox in [luzhou, shangdang, waiting] {
                    try? FileManager.default.removeItem(at: sandbox.directory)
                }
            }
            let luzhouKey = try #require(try AgentKeyring.key(try AgentWorkspace(home: luzhou.home).keyring().current))
            let waitingWorkspace = try AgentWorkspace(home: waiting.home)
            let waitingKey = try #require(try AgentKeyring.key(try waitingWorkspace.keyring().pending))
            let code = try #require(waitingWorkspace.credentials.enrolmentCode)

            let copy = try await pipeline.everythingStored()
            #expect(copy.contains(hex(luzhouKey.publicKey.bytes)))
            for secret in [hex(luzhouKey.privateKey), hex(waitingKey.privateKey), code] {
                #expect(!copy.contains(secret))
            }
            #expect(!copy.contains(Data(luzhouKey.privateKey).base64EncodedString()))

            // Every byte string of 32 bytes or more in the copy, tried as what an agent signs with.
            let candidates = Set(
                copy.matches(of: /\\\\x([0-9a-f]{64,})/).map { match in
                    let text = Array(match.1)
                    return stride(from: 0, to: text.count - 1, by: 2).compactMap {
                        UInt8(String(text[$0...$0 + 1]), radix: 16)
                    }
                })
            #expect(candidates.count >= 3)
            var forged: [KafkaProducerMessage] = []
            var forgedIDs: [String] = []
            func forge(_ sign: (inout PersonStatusRecord) -> Void) throws {
                var record = person(
                    String(forgedIDs.count % 16, radix: 16), unit: "140403001001", period: "2024-10", .employed,
                    agent: luzhou.agentID)
                sign(&record)
                forged.append(try message(record))
                forgedIDs.append(record.recordID.text)
            }
            for candidate in candidates {
                try forge { RecordSigner(secret: candidate).sign(&$0) }
                if candidate.count == 32, let key = try? AgentSigningKey(privateKey: candidate) {
                    // A seal made with the copied bytes as a private key, under the registered key's id.
                    try forge { record in
                        AgentSigner.ed25519(key, agentID: luzhou.agentID).sign(&record)
                        record.seal?.keyID = luzhouKey.keyID
                    }
                }
            }
            // The thief's own key, claiming the registered key's id, and claimed as the next key in a rotation.
            let thief = AgentSigningKey()
            try forge { record in
                AgentSigner.ed25519(thief, agentID: luzhou.agentID).sign(&record)
                record.seal?.keyID = luzhouKey.keyID
            }
            var rotation = KeyAnnouncement(
                recordID: .random(), agentID: luzhou.agentID, publicKey: thief.publicKey,
                announcedAtMilliseconds: 1_000,
                proof: .previousKey(keyID: luzhouKey.keyID, signature: []))
            rotation.proof = .previousKey(
                keyID: luzhouKey.keyID, signature: thief.signature(for: CanonicalBytes.of(rotation)))
            // The waiting agent's enrolment, with the code's hash (all the copy has of it) as the code.
            let digest = try #require(candidates.first { $0 == EnrolmentCode.digest(code) })
            let enrolments = [hex(digest), Data(digest).base64EncodedString()].map { guess in
                KeyAnnouncement(
                    recordID: .random(), agentID: waiting.agentID, publicKey: thief.publicKey,
                    announcedAtMilliseconds: 1_000, proof: .enrolmentCode(guess))
            }
            // And another county's agent reporting for Luzhou's village, correctly signed with its own key.
            var outside = person("a", unit: "140403001001", period: "2024-10", .employed, agent: shangdang.agentID)
            shangdang.signer.sign(&outside)
            try await produce(
                forged + [try keyMessage(rotation)] + (try enrolments.map(keyMessage)) + [try message(outside)])
            _ = try pipeline.processAll()

            let reasons = try await pipeline.rejectionReasons(
                forgedIDs + [rotation.recordID.text, outside.recordID.text] + enrolments.map(\.recordID.text))
            #expect(Set(forgedIDs.compactMap { reasons[$0] }) == ["signature.invalid", "signature.hmac_retired"])
            #expect(forgedIDs.allSatisfy { reasons[$0] != nil })
            #expect(reasons[rotation.recordID.text] == "key.proof_invalid")
            #expect(enrolments.allSatisfy { reasons[$0.recordID.text] == "key.enrolment_code_invalid" })
            #expect(reasons[outside.recordID.text] == "scope.outside_agent")
            #expect(try await pipeline.ledgerRecords(agent: luzhou.agentID) == 0)
            #expect(try await pipeline.query("SELECT count(*)::bigint FROM agent_keys", as: Int64.self) == [2])
        }
    }

    @Test(
        "The HMAC transition: an agent enrolled before key pairs signs with its secret, moves to a key pair by a rotation signed with it, and once the operator ends the transition the city holds no secret and refuses HMAC"
    )
    func hmacTransition() async throws {
        try await Pipeline.with { pipeline in
            let luzhou = try await pipeline.agent(for: "140403000000")
            defer { try? FileManager.default.removeItem(at: luzhou.directory) }
            // An agent enrolled before key pairs, as migration 14 left it: its secret apart, in legacy_hmac_secrets.
            let secret = Array((0..<32).map { UInt8($0 * 7 % 251) })
            let legacyID = "agent-140403001001-legacy"
            let connection = try await pipeline.database.connect()
            try await connection.query(
                "INSERT INTO agents (agent_id, unit_code, name) VALUES ($1, '140403001001', 'legacy')", [legacyID])
            try await connection.query(
                "INSERT INTO legacy_hmac_secrets (agent_id, secret) VALUES ($1, $2)", [legacyID, PostgresBytes(secret)])
            let credentials = AgentCredentials(
                agentID: legacyID, unit: try #require(DivisionCode("140403001001")), name: "legacy",
                secret: Data(secret).base64EncodedString(),
                cityKey: Data(
                    try await AgentRegistry(database: try PostgresClient(url: pipeline.database.url, maxConnections: 1))
                        .pseudonymizationKey()
                ).base64EncodedString(),
                kafkaBootstrap: try #require(try DevHome.resolve(nil).loadSettings()).kafkaBootstrap)
            let file = luzhou.directory.appendingPathComponent("legacy.json").path
            try JSONEncoder().encode(credentials).write(to: URL(fileURLWithPath: file))
            let home = luzhou.directory.appendingPathComponent("legacy-home").path
            #expect(try empmon(["agent", "init", "--credentials", file, "--home", home]).status == 0)

            let refused = try pipeline.run(["agent", "end-hmac"])
            #expect(refused.status != 0 && refused.output.contains(legacyID), "\(refused.output)")
            let (october, _) = makeLedger(count: 3, seed: 51)
            let ledger = luzhou.directory.appendingPathComponent("10.csv").path
            try Data(october.utf8).write(to: URL(fileURLWithPath: ledger))
            #expect(
                try empmon(["agent", "submit", "--period", "2024-10", ledger, "--home", home, "--timeout", "20"]).status
                    == 0)
            #expect(try empmon(["agent", "rotate-key", "--home", home, "--timeout", "20"]).status == 0)
            _ = try pipeline.processAll()
            #expect(try await pipeline.ledgerRecords(agent: legacyID) == 3)
            let moved = try empmon(["agent", "flush", "--home", home, "--timeout", "20"])
            #expect(moved.output.contains("the city confirmed key"), "\(moved.output)")

            let ended = try pipeline.run(["agent", "end-hmac"])
            #expect(ended.status == 0, "\(ended.output)")
            #expect(
                try await pipeline.query(
                    "SELECT count(*)::bigint FROM information_schema.columns WHERE table_schema = 'public' AND column_name ILIKE '%secret%'",
                    as: Int64.self) == [0])
            #expect(!(try await pipeline.everythingStored()).contains(hex(secret)))
            var hmacSigned = person("1", unit: "140403001001", period: "2024-11", .employed, agent: legacyID)
            RecordSigner(secret: secret).sign(&hmacSigned)
            let (november, _) = makeLedger(count: 2, seed: 52)
            let next = luzhou.directory.appendingPathComponent("11.csv").path
            try Data(november.utf8).write(to: URL(fileURLWithPath: next))
            #expect(
                try empmon(["agent", "submit", "--period", "2024-11", next, "--home", home, "--timeout", "20"]).status
                    == 0)
            try await produce([try message(hmacSigned)])
            _ = try pipeline.processAll()
            #expect(
                try await pipeline.rejectionReasons([hmacSigned.recordID.text])
                    == [hmacSigned.recordID.text: "signature.hmac_retired"])
            #expect(try await pipeline.ledgerRecords(agent: legacyID) == 5)
        }
    }
}
