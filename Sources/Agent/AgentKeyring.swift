import Domain
import Foundation
import Kafka
import Wire

/// The agent's Ed25519 keys, in `keys.json` in its home (readable by its owner only): the key it signs with,
/// and a new one announced to the city and not yet confirmed. A new key is used once a city receipt names it;
/// until then the agent signs as before (with its current key, or with its HMAC secret while moving off it).
/// At enrolment there is nothing before: records are signed with the new key and wait until it is confirmed.
package struct AgentKeyring: Codable, Sendable, Equatable {
    /// Private key, base64.
    package var current: String?
    package var pending: String?
    /// The pending key's announcement as sent (protobuf, base64), sent again until the city confirms the key.
    package var announcement: String?
    package var announcementID: String?

    static func path(_ home: String) -> String { home + "/keys.json" }

    package init() {}

    static func load(home: String) throws -> AgentKeyring {
        guard let data = FileManager.default.contents(atPath: path(home)) else { return AgentKeyring() }
        do { return try JSONDecoder().decode(AgentKeyring.self, from: data) } catch {
            throw AgentError("\(path(home)) is damaged: \(error.localizedDescription)")
        }
    }

    func save(home: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(self)
        let temporary = Self.path(home) + ".new"
        try? FileManager.default.removeItem(atPath: temporary)
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600])
        else { throw AgentError("cannot write \(temporary)") }
        // Replaced whole, so that a crash leaves the old keys or the new, never half of a key.
        guard rename(temporary, Self.path(home)) == 0 else { throw AgentError("cannot replace \(Self.path(home))") }
    }

    package static func key(_ base64: String?) throws -> AgentSigningKey? {
        guard let base64 else { return nil }
        guard let bytes = Data(base64Encoded: base64) else { throw AgentError("a key in keys.json is not base64") }
        do { return try AgentSigningKey(privateKey: Array(bytes)) } catch {
            throw AgentError("a key in keys.json is not an Ed25519 private key")
        }
    }

    mutating func announce(_ key: AgentSigningKey, _ announcement: KeyAnnouncement) throws {
        pending = Data(key.privateKey).base64EncodedString()
        self.announcement = Data(try Wire.encode(announcement)).base64EncodedString()
        announcementID = announcement.recordID.text
    }

    /// Makes the pending key current when `confirmed` names it. Returns whether it did.
    mutating func promote(ifConfirmed confirmed: Set<String>) throws -> Bool {
        guard let next = try Self.key(pending), confirmed.contains(next.keyID) else { return false }
        current = pending
        pending = nil
        announcement = nil
        announcementID = nil
        return true
    }
}

extension Delivery {
    /// Sends a key announcement on the person-status topic (keyed by agent id) and waits for the broker.
    package func announce(_ payload: [UInt8], recordID: String, timeout: Duration) async throws {
        var configuration = KafkaProducerConfiguration(endpoint: kafka, clientID: agentID)
        configuration.deliveryTimeout = timeout
        let producer = try KafkaProducer(configuration: configuration, logger: logger)
        var reports = producer.deliveryReports.makeAsyncIterator()
        let id = try await producer.send(
            KafkaProducerMessage(
                topic: WireTopics.personStatus, key: agentID, value: payload,
                headers: [
                    KafkaHeader(key: "empmon.kind", string: WireKinds.key),
                    KafkaHeader(key: "empmon.agent", string: agentID),
                    KafkaHeader(key: "empmon.record", string: recordID),
                ]))
        while let report = await reports.next() {
            guard report.id == id else { continue }
            if case .failure(let error) = report.result {
                throw AgentError("the key announcement was not delivered: \(error)")
            }
            return
        }
    }
}
