import Domain
import Foundation
import Kafka
import Storage
import Synchronization
import Wire

/// A message after the city's checks: a record to store, or a rejection to record.
package enum Intake: Sendable {
    case person(PersonStatusRecord)
    case activity(UnitActivityReport)
    case manifest(SubmissionManifest)
    /// A public key to register, retiring the agent's key `retiring` (a rotation) after the overlap window.
    case key(KeyAnnouncement, retiring: String?)
    case rejected(RecordRejection)
}

/// Root signatures already verified: a submission's records share one, so the Ed25519 check is made once per
/// submission, not once per record, and a submission split across batches is not checked again. The processor
/// keeps one for its life; it forgets everything once it holds `capacity` seals.
package final class VerifiedSeals: Sendable {
    struct Seal: Hashable {
        let agentID: String
        let publicKey: [UInt8]
        let root: [UInt8]
        let leafCount: Int
        let signature: [UInt8]
    }

    private let verified = Mutex<Set<Seal>>([])
    let capacity: Int

    package init(capacity: Int = 50_000) { self.capacity = capacity }

    func isValid(_ seal: RecordSeal, agentID: String, key: AgentPublicKey) -> Bool {
        // The key's bytes, not its id: what was verified is this signature under this key.
        let entry = Seal(
            agentID: agentID, publicKey: key.bytes, root: seal.root, leafCount: seal.leafCount,
            signature: seal.rootSignature)
        if verified.withLock({ $0.contains(entry) }) { return true }
        guard seal.rootSignatureIsValid(agentID: agentID, key: key) else { return false }
        verified.withLock {
            if $0.count >= capacity { $0.removeAll(keepingCapacity: true) }
            $0.insert(entry)
        }
        return true
    }
}

/// The city's checks on a message: it decodes, it comes from an enrolled agent that had not been revoked when it
/// signed, the signature verifies under a key the city accepts for that agent now (or, until the HMAC transition
/// ends, under its secret), the unit lies in the agent's subtree, and the record is valid (docs/design.md invariants 3
/// and 4). Pure given the agents and the time it is handed.
package struct RecordIntake: Sendable {
    let topology: Topology
    let agents: [String: RegisteredAgent]
    /// The HMAC signer of each agent not yet moved to a key pair, keyed once per batch rather than once per record.
    let signers: [String: RecordSigner]
    let validator: RecordValidator
    let nowMilliseconds: Int64
    let seals: VerifiedSeals

    package init(
        topology: Topology, agents: [String: RegisteredAgent], now: Date = Date(),
        seals: VerifiedSeals = VerifiedSeals()
    ) {
        self.topology = topology
        self.seals = seals
        self.agents = agents
        self.signers = agents.compactMapValues { $0.legacySecret.map(RecordSigner.init(secret:)) }
        nowMilliseconds = Int64(now.timeIntervalSince1970 * 1000)
        // Records may be for the current month in China, which for eight hours a month is a month ahead of UTC's.
        self.validator = RecordValidator(topology: topology, latestPeriod: ChinaTime.period(at: now))
    }

    package func examine(_ message: KafkaMessage) -> Intake {
        let headerRecordID = message.header("empmon.record").flatMap { String(validating: $0, as: UTF8.self) }
        let headerAgent = message.header("empmon.agent").flatMap { String(validating: $0, as: UTF8.self) }
        func reject(
            _ problems: [ValidationReason], recordID: String?, agentID: String?, unit: String?, period: Period? = nil
        ) -> Intake {
            .rejected(
                RecordRejection(
                    recordID: recordID ?? headerRecordID, agentID: agentID ?? headerAgent, unit: unit,
                    problems: problems,
                    topic: message.topic, partition: message.partition, offset: message.offset, key: message.key,
                    payload: message.value, rejectedAtMilliseconds: Int64(Date().timeIntervalSince1970 * 1000),
                    period: period))
        }
        let kind = message.header("empmon.kind").flatMap { String(validating: $0, as: UTF8.self) }
        if kind == WireKinds.manifest, [WireTopics.personStatus, WireTopics.unitActivity].contains(message.topic) {
            let manifest: SubmissionManifest
            do { manifest = try Wire.decodeManifest(message.value) } catch {
                return reject([error], recordID: nil, agentID: nil, unit: nil)
            }
            var problems =
                authenticity(
                    agentID: manifest.agentID, unit: manifest.unit, header: headerAgent,
                    signedAt: manifest.reportedAtMilliseconds, seal: manifest.seal,
                    hmacSigned: !manifest.signature.isEmpty,
                    canonical: { CanonicalBytes.of(manifest) }, hmac: { $0.isValid(manifest) })
                ?? validator.problems(with: manifest)
            let expectedTopic = manifest.kind == .activity ? WireTopics.unitActivity : WireTopics.personStatus
            if problems.isEmpty, message.topic != expectedTopic {
                problems.append(
                    ValidationReason(
                        .init(rawValue: "manifest.wrong_topic"), field: "kind", chinese: "控制总数应与其记录在同一主题",
                        english:
                            "a \(manifest.kind.rawValue) manifest belongs on \(expectedTopic), not \(message.topic)"))
            }
            return problems.isEmpty
                ? .manifest(manifest)
                : reject(
                    problems, recordID: manifest.recordID.text, agentID: manifest.agentID,
                    unit: manifest.unit.description, period: manifest.period)
        }
        if kind == WireKinds.key, message.topic == WireTopics.personStatus {
            let announcement: KeyAnnouncement
            do { announcement = try Wire.decodeKeyAnnouncement(message.value) } catch {
                return reject([error], recordID: nil, agentID: nil, unit: nil)
            }
            switch registration(of: announcement, header: headerAgent) {
            case .success(let retiring): return .key(announcement, retiring: retiring)
            case .failure(let problem):
                return reject(
                    [problem], recordID: announcement.recordID.text, agentID: announcement.agentID,
                    unit: agents[announcement.agentID]?.unit.description)
            }
        }
        switch message.topic {
        case WireTopics.personStatus:
            let record: PersonStatusRecord
            do { record = try Wire.decodePersonStatus(message.value) } catch {
                return reject([error], recordID: nil, agentID: nil, unit: nil)
            }
            let problems =
                authenticity(
                    agentID: record.agentID, unit: record.unit, header: headerAgent,
                    signedAt: record.reportedAtMilliseconds, seal: record.seal, hmacSigned: !record.signature.isEmpty,
                    canonical: { CanonicalBytes.of(record) }, hmac: { $0.isValid(record) })
                ?? validator.problems(with: record)
            return problems.isEmpty
                ? .person(record)
                : reject(
                    problems, recordID: record.recordID.text, agentID: record.agentID, unit: record.unit.description,
                    period: record.period)
        case WireTopics.unitActivity:
            let report: UnitActivityReport
            do { report = try Wire.decodeUnitActivity(message.value) } catch {
                return reject([error], recordID: nil, agentID: nil, unit: nil)
            }
            let problems =
                authenticity(
                    agentID: report.agentID, unit: report.unit, header: headerAgent,
                    signedAt: report.reportedAtMilliseconds, seal: report.seal, hmacSigned: !report.signature.isEmpty,
                    canonical: { CanonicalBytes.of(report) }, hmac: { $0.isValid(report) })
                ?? validator.problems(with: report)
            return problems.isEmpty
                ? .activity(report)
                : reject(
                    problems, recordID: report.recordID.text, agentID: report.agentID, unit: report.unit.description,
                    period: report.period)
        default:
            return reject(
                [
                    ValidationReason(
                        .init(rawValue: "topic.unknown"), field: "topic", chinese: "未知主题\(message.topic)",
                        english: "records are not expected on topic \(message.topic)")
                ],
                recordID: nil, agentID: nil, unit: nil)
        }
    }

    /// Who sent it and whether they may: nil when the agent, signature and scope are in order. Checked
    /// before validation, so that a forged record is reported as forged, not as invalid.
    private func authenticity(
        agentID: String, unit: DivisionCode, header: String?, signedAt: Int64, seal: RecordSeal?, hmacSigned: Bool,
        canonical: () -> [UInt8], hmac: (RecordSigner) -> Bool
    ) -> [ValidationReason]? {
        guard let agent = agents[agentID] else { return [.unknownAgent(agentID)] }
        if let revoked = agent.revokedAtMilliseconds, signedAt >= revoked { return [.revokedAgent(agentID)] }
        if let seal {
            guard let key = agent.key(seal.keyID) else { return [.unknownKey(seal.keyID)] }
            if let retires = key.retiresAtMilliseconds, retires <= nowMilliseconds { return [.retiredKey(seal.keyID)] }
            guard seal.leadsToRoot(canonical()),
                seals.isValid(seal, agentID: agentID, key: key.publicKey)
            else { return [.invalidSignature] }
        } else {
            // An empty signature is no signature, whichever way the agent signs.
            guard let signer = signers[agentID] else { return [hmacSigned ? .hmacRetired : .invalidSignature] }
            guard hmac(signer) else { return [.invalidSignature] }
        }
        if let header, header != agentID { return [.agentMismatch(header: header, record: agentID)] }
        guard unit.isInSubtree(of: agent.unit) else { return [.outsideScope(unit: unit, agentUnit: agent.unit)] }
        return nil
    }

    /// Whether a new key may be registered, and which key it retires. A key the agent has already is accepted
    /// again (an agent that heard no confirmation announces it again), whatever its proof.
    private func registration(of announcement: KeyAnnouncement, header: String?) -> Result<String?, ValidationReason> {
        guard let agent = agents[announcement.agentID] else { return .failure(.unknownAgent(announcement.agentID)) }
        if agent.isRevoked { return .failure(.revokedAgent(agent.agentID)) }
        if let header, header != agent.agentID {
            return .failure(.agentMismatch(header: header, record: agent.agentID))
        }
        if agent.key(announcement.publicKey.keyID) != nil { return .success(nil) }
        switch announcement.proof {
        case .enrolmentCode(let code):
            guard let digest = agent.enrolmentCodeSHA256, let expires = agent.enrolmentExpiresAtMilliseconds,
                expires > nowMilliseconds, EnrolmentCode.digest(code) == digest
            else { return .failure(.enrolmentCodeInvalid) }
            return .success(nil)
        case .previousKey(let keyID, let signature):
            guard let previous = agent.liveKeys(at: nowMilliseconds).first(where: { $0.publicKey.keyID == keyID }),
                previous.publicKey.isValidSignature(signature, for: CanonicalBytes.of(announcement))
            else { return .failure(.keyProofInvalid) }
            return .success(keyID)
        case .hmac:
            guard let signer = signers[agent.agentID] else { return .failure(.hmacRetired) }
            guard signer.isValid(announcement) else { return .failure(.keyProofInvalid) }
            return .success(nil)
        }
    }
}
