import Domain
import Foundation
import Kafka
import Storage
import Wire

/// A message after the city's checks: a record to store, or a rejection to record.
package enum Intake: Sendable {
    case person(PersonStatusRecord)
    case activity(UnitActivityReport)
    case manifest(SubmissionManifest)
    case rejected(RecordRejection)
}

/// The city's checks on a message: it decodes, it comes from an enrolled agent that is not revoked, the
/// signature verifies under that agent's secret, the unit lies in the agent's subtree, and the record is
/// valid (DESIGN.md invariants 3 and 4). Pure given the agents it is handed.
package struct RecordIntake: Sendable {
    let topology: Topology
    let agents: [String: RegisteredAgent]
    /// Each agent's signer, keyed once per batch rather than once per record.
    let signers: [String: RecordSigner]
    let validator: RecordValidator

    package init(topology: Topology, agents: [String: RegisteredAgent], now: Date = Date()) {
        self.topology = topology
        self.agents = agents
        self.signers = agents.mapValues { RecordSigner(secret: $0.secret) }
        // Records may be for the current month in China, which for eight hours a month is a month ahead of UTC's.
        self.validator = RecordValidator(topology: topology, latestPeriod: ChinaTime.period(at: now))
    }

    package func examine(_ message: KafkaMessage) -> Intake {
        let headerRecordID = message.header("empmon.record").flatMap { String(validating: $0, as: UTF8.self) }
        let headerAgent = message.header("empmon.agent").flatMap { String(validating: $0, as: UTF8.self) }
        func reject(_ problems: [ValidationReason], recordID: String?, agentID: String?, unit: String?) -> Intake {
            .rejected(
                RecordRejection(
                    recordID: recordID ?? headerRecordID, agentID: agentID ?? headerAgent, unit: unit,
                    problems: problems,
                    topic: message.topic, partition: message.partition, offset: message.offset, key: message.key,
                    payload: message.value, rejectedAtMilliseconds: Int64(Date().timeIntervalSince1970 * 1000)))
        }
        let kind = message.header("empmon.kind").flatMap { String(validating: $0, as: UTF8.self) }
        if kind == WireKinds.manifest, [WireTopics.personStatus, WireTopics.unitActivity].contains(message.topic) {
            let manifest: SubmissionManifest
            do { manifest = try Wire.decodeManifest(message.value) } catch {
                return reject([error], recordID: nil, agentID: nil, unit: nil)
            }
            var problems =
                authenticity(agentID: manifest.agentID, unit: manifest.unit, header: headerAgent) {
                    $0.isValid(manifest)
                }
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
                    unit: manifest.unit.description)
        }
        switch message.topic {
        case WireTopics.personStatus:
            let record: PersonStatusRecord
            do { record = try Wire.decodePersonStatus(message.value) } catch {
                return reject([error], recordID: nil, agentID: nil, unit: nil)
            }
            let problems =
                authenticity(agentID: record.agentID, unit: record.unit, header: headerAgent) { $0.isValid(record) }
                ?? validator.problems(with: record)
            return problems.isEmpty
                ? .person(record)
                : reject(
                    problems, recordID: record.recordID.text, agentID: record.agentID, unit: record.unit.description)
        case WireTopics.unitActivity:
            let report: UnitActivityReport
            do { report = try Wire.decodeUnitActivity(message.value) } catch {
                return reject([error], recordID: nil, agentID: nil, unit: nil)
            }
            let problems =
                authenticity(agentID: report.agentID, unit: report.unit, header: headerAgent) { $0.isValid(report) }
                ?? validator.problems(with: report)
            return problems.isEmpty
                ? .activity(report)
                : reject(
                    problems, recordID: report.recordID.text, agentID: report.agentID, unit: report.unit.description)
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
    private func authenticity(agentID: String, unit: DivisionCode, header: String?, verify: (RecordSigner) -> Bool)
        -> [ValidationReason]?
    {
        guard let agent = agents[agentID], let signer = signers[agentID] else { return [.unknownAgent(agentID)] }
        if agent.isRevoked { return [.revokedAgent(agentID)] }
        guard verify(signer) else { return [.invalidSignature] }
        if let header, header != agentID { return [.agentMismatch(header: header, record: agentID)] }
        guard unit.isInSubtree(of: agent.unit) else { return [.outsideScope(unit: unit, agentUnit: agent.unit)] }
        return nil
    }
}
