import Domain
import Foundation
import SwiftProtobuf

/// Protocol Buffers encoding of records (schema: Topology/records.proto). Decoding refuses anything
/// the domain cannot represent, with a `ValidationReason` naming the field.
package enum Wire {
    package static func encode(_ record: PersonStatusRecord) throws -> [UInt8] {
        var message = Empmon_V1_PersonStatusRecord()
        message.recordID = record.recordID.text
        message.schemaVersion = UInt32(clamping: record.schemaVersion)
        message.unitCode = record.unit.description
        message.period = record.period.description
        message.personKey = record.personKey
        message.householdKey = record.householdKey
        message.birthYear = UInt32(clamping: record.birthYear)
        message.sex = record.sex == .male ? .male : .female
        message.status = Self.status[record.status] ?? .unspecified
        message.employmentForm = record.employmentForm.flatMap { Self.form[$0] } ?? .unspecified
        message.workLocation = record.workLocation.flatMap { Self.location[$0] } ?? .unspecified
        message.sector = record.sector?.rawValue ?? ""
        message.registeredUnemployed = record.registeredUnemployed
        message.groups = record.groups.sorted().compactMap { Self.group[$0] }
        message.seekingWork = record.seekingWork
        message.assisted = record.assisted
        message.trained = record.trained
        message.incomeBand = record.incomeBand.flatMap { Self.income[$0] } ?? .unspecified
        message.reportedAtMs = record.reportedAtMilliseconds
        message.agentID = record.agentID
        message.signature = Data(record.signature)
        if let seal = record.seal { message.seal = wire(seal) }
        return try Array(message.serializedBytes() as [UInt8])
    }

    package static func decodePersonStatus(_ bytes: [UInt8]) throws(ValidationReason) -> PersonStatusRecord {
        let message: Empmon_V1_PersonStatusRecord
        do { message = try Empmon_V1_PersonStatusRecord(serializedBytes: bytes) } catch {
            throw malformed("payload", "不是有效的人员状态记录", "not a valid person status record: \(error)")
        }
        let sex: Sex
        switch message.sex {
        case .male: sex = .male
        case .female: sex = .female
        default: throw malformed("sex", "缺少或无法识别性别", "sex is missing or unknown")
        }
        guard let status = Self.status.first(where: { $0.value == message.status })?.key else {
            throw malformed("status", "缺少或无法识别就业状态", "status is missing or unknown")
        }
        var groups: Set<PersonGroup> = []
        for wireGroup in message.groups {
            guard let group = Self.group.first(where: { $0.value == wireGroup })?.key else {
                throw malformed("groups", "人员类别无法识别", "unknown person group \(wireGroup.rawValue)")
            }
            groups.insert(group)
        }
        var sector: Sector?
        if !message.sector.isEmpty {
            switch RecordValidator.sector(message.sector) {
            case .success(let value): sector = value
            case .failure(let reason): throw reason
            }
        }
        return PersonStatusRecord(
            recordID: try recordID(message.recordID), schemaVersion: Int(message.schemaVersion),
            unit: try unit(message.unitCode), period: try period(message.period), personKey: message.personKey,
            householdKey: message.householdKey, birthYear: Int(message.birthYear), sex: sex, status: status,
            employmentForm: try optionalCase(message.employmentForm, Self.form, field: "employment_form"),
            workLocation: try optionalCase(message.workLocation, Self.location, field: "work_location"),
            sector: sector, registeredUnemployed: message.registeredUnemployed, groups: groups,
            seekingWork: message.seekingWork, assisted: message.assisted, trained: message.trained,
            incomeBand: try optionalCase(message.incomeBand, Self.income, field: "income_band"),
            reportedAtMilliseconds: message.reportedAtMs, agentID: message.agentID, signature: Array(message.signature),
            seal: message.hasSeal ? try seal(message.seal) : nil)
    }

    package static func encode(_ report: UnitActivityReport) throws -> [UInt8] {
        var message = Empmon_V1_UnitActivityReport()
        message.recordID = report.recordID.text
        message.schemaVersion = UInt32(clamping: report.schemaVersion)
        message.unitCode = report.unit.description
        message.period = report.period.description
        let counters = report.counters
        if let value = counters[.jobsCollected] { message.jobsCollected = value }
        if let value = counters[.recruitmentEvents] { message.recruitmentEvents = value }
        if let value = counters[.internshipPosts] { message.internshipPosts = value }
        if let value = counters[.gigMarketServices] { message.gigMarketServices = value }
        if let value = counters[.entrepreneurshipTrainees] { message.entrepreneurshipTrainees = value }
        if let value = counters[.jobsCreatedByEntrepreneurship] { message.jobsCreatedByEntrepreneurship = value }
        if let value = counters[.trainingCompletions] { message.trainingCompletions = value }
        if let value = counters[.labourDisputesHandled] { message.labourDisputesHandled = value }
        if let value = counters[.wageArrearsCases] { message.wageArrearsCases = value }
        message.reportedAtMs = report.reportedAtMilliseconds
        message.agentID = report.agentID
        message.signature = Data(report.signature)
        if let seal = report.seal { message.seal = wire(seal) }
        return try Array(message.serializedBytes() as [UInt8])
    }

    package static func decodeUnitActivity(_ bytes: [UInt8]) throws(ValidationReason) -> UnitActivityReport {
        let message: Empmon_V1_UnitActivityReport
        do { message = try Empmon_V1_UnitActivityReport(serializedBytes: bytes) } catch {
            throw malformed("payload", "不是有效的工作情况报表", "not a valid unit activity report: \(error)")
        }
        var counters: [UnitActivityReport.Counter: Int64] = [:]
        if message.hasJobsCollected { counters[.jobsCollected] = message.jobsCollected }
        if message.hasRecruitmentEvents { counters[.recruitmentEvents] = message.recruitmentEvents }
        if message.hasInternshipPosts { counters[.internshipPosts] = message.internshipPosts }
        if message.hasGigMarketServices { counters[.gigMarketServices] = message.gigMarketServices }
        if message.hasEntrepreneurshipTrainees {
            counters[.entrepreneurshipTrainees] = message.entrepreneurshipTrainees
        }
        if message.hasJobsCreatedByEntrepreneurship {
            counters[.jobsCreatedByEntrepreneurship] = message.jobsCreatedByEntrepreneurship
        }
        if message.hasTrainingCompletions { counters[.trainingCompletions] = message.trainingCompletions }
        if message.hasLabourDisputesHandled { counters[.labourDisputesHandled] = message.labourDisputesHandled }
        if message.hasWageArrearsCases { counters[.wageArrearsCases] = message.wageArrearsCases }
        var report = UnitActivityReport(
            recordID: try recordID(message.recordID), schemaVersion: Int(message.schemaVersion),
            unit: try unit(message.unitCode), period: try period(message.period), counters: counters,
            reportedAtMilliseconds: message.reportedAtMs, agentID: message.agentID, signature: Array(message.signature))
        if message.hasSeal { report.seal = try seal(message.seal) }
        return report
    }

    package static func encode(_ manifest: SubmissionManifest) throws -> [UInt8] {
        var message = Empmon_V1_SubmissionManifest()
        message.recordID = manifest.recordID.text
        message.schemaVersion = UInt32(clamping: manifest.schemaVersion)
        message.unitCode = manifest.unit.description
        message.period = manifest.period.description
        message.kind = manifest.kind.rawValue
        message.records = UInt32(clamping: manifest.records)
        message.recordDigest = Data(manifest.digest)
        message.reportedAtMs = manifest.reportedAtMilliseconds
        message.agentID = manifest.agentID
        message.signature = Data(manifest.signature)
        if let seal = manifest.seal { message.seal = wire(seal) }
        return try Array(message.serializedBytes() as [UInt8])
    }

    package static func decodeManifest(_ bytes: [UInt8]) throws(ValidationReason) -> SubmissionManifest {
        let message: Empmon_V1_SubmissionManifest
        do { message = try Empmon_V1_SubmissionManifest(serializedBytes: bytes) } catch {
            throw malformed("payload", "不是有效的控制总数", "not a valid submission manifest: \(error)")
        }
        guard let kind = SubmissionManifest.Kind(rawValue: message.kind) else {
            throw malformed(
                "kind", "控制总数的记录类别“\(message.kind.prefix(20))”无法识别",
                "manifest kind '\(message.kind.prefix(20))' is unknown")
        }
        var manifest = SubmissionManifest(
            recordID: try recordID(message.recordID), schemaVersion: Int(message.schemaVersion),
            unit: try unit(message.unitCode),
            period: try period(message.period), kind: kind, records: Int(message.records),
            digest: Array(message.recordDigest),
            reportedAtMilliseconds: message.reportedAtMs, agentID: message.agentID, signature: Array(message.signature))
        if message.hasSeal { manifest.seal = try seal(message.seal) }
        return manifest
    }

    package static func encode(_ announcement: KeyAnnouncement) throws -> [UInt8] {
        var message = Empmon_V1_KeyAnnouncement()
        message.recordID = announcement.recordID.text
        message.agentID = announcement.agentID
        message.publicKey = Data(announcement.publicKey.bytes)
        message.announcedAtMs = announcement.announcedAtMilliseconds
        switch announcement.proof {
        case .enrolmentCode(let code): message.enrolmentCode = code
        case .previousKey(let keyID, let signature):
            var proof = Empmon_V1_PreviousKeyProof()
            proof.keyID = keyID
            proof.signature = Data(signature)
            message.previousKey = proof
        case .hmac(let signature): message.hmacSignature = Data(signature)
        }
        return try Array(message.serializedBytes() as [UInt8])
    }

    package static func decodeKeyAnnouncement(_ bytes: [UInt8]) throws(ValidationReason) -> KeyAnnouncement {
        let message: Empmon_V1_KeyAnnouncement
        do { message = try Empmon_V1_KeyAnnouncement(serializedBytes: bytes) } catch {
            throw malformed("payload", "不是有效的公钥登记", "not a valid key announcement: \(error)")
        }
        guard message.publicKey.count == 32 else {
            throw malformed(
                "public_key", "公钥应为32字节", "an Ed25519 public key is 32 bytes, not \(message.publicKey.count)")
        }
        let proof: KeyAnnouncement.Proof
        switch message.proof {
        case .enrolmentCode(let code): proof = .enrolmentCode(code)
        case .previousKey(let previous):
            proof = .previousKey(keyID: previous.keyID, signature: Array(previous.signature))
        case .hmacSignature(let signature): proof = .hmac(signature: Array(signature))
        case nil: throw malformed("proof", "公钥登记缺少证明", "a key announcement needs an enrolment code or a signature")
        }
        return KeyAnnouncement(
            recordID: try recordID(message.recordID), agentID: message.agentID,
            publicKey: AgentPublicKey(Array(message.publicKey)), announcedAtMilliseconds: message.announcedAtMs,
            proof: proof)
    }

    private static func wire(_ seal: RecordSeal) -> Empmon_V1_RecordSeal {
        var message = Empmon_V1_RecordSeal()
        message.keyID = seal.keyID
        message.root = Data(seal.root)
        message.rootSignature = Data(seal.rootSignature)
        message.leafCount = UInt32(clamping: seal.leafCount)
        message.leafIndex = UInt32(clamping: seal.leafIndex)
        message.path = seal.path.map { Data($0) }
        return message
    }

    /// A seal's shape: a key id of 16 lowercase hex digits, hashes and signature of their sizes, and a path of no
    /// more steps than a tree can have (whether it leads to the root is the intake's check).
    private static func seal(_ message: Empmon_V1_RecordSeal) throws(ValidationReason) -> RecordSeal {
        guard message.keyID.utf8.count == 16,
            message.keyID.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }),
            message.root.count == 32, message.rootSignature.count == 64, message.leafCount >= 1,
            message.leafIndex < message.leafCount, message.path.count <= 32, message.path.allSatisfy({ $0.count == 32 })
        else { throw malformed("seal", "签名封印格式错误", "the record's seal is malformed") }
        return RecordSeal(
            keyID: message.keyID, root: Array(message.root), rootSignature: Array(message.rootSignature),
            leafCount: Int(message.leafCount), leafIndex: Int(message.leafIndex), path: message.path.map { Array($0) })
    }

    // MARK: - mapping tables

    private static let status: [EmploymentStatus: Empmon_V1_EmploymentStatus] = [
        .employed: .employed, .unemployed: .unemployed, .notInLabourForce: .notInLabourForce,
    ]
    private static let form: [EmploymentForm: Empmon_V1_EmploymentForm] = [
        .employee: .employee, .flexible: .flexible, .selfEmployed: .selfEmployed,
        .publicWelfarePost: .publicWelfarePost,
    ]
    private static let location: [WorkLocation: Empmon_V1_WorkLocation] = [
        .local: .local, .inProvince: .inProvince, .outOfProvince: .outOfProvince,
    ]
    private static let group: [PersonGroup: Empmon_V1_PersonGroup] = [
        .collegeGraduate: .collegeGraduate, .ruralLabour: .ruralLabour, .hardToEmploy: .hardToEmploy,
        .povertyAlleviated: .povertyAlleviated, .disabled: .disabled, .veteran: .veteran,
    ]
    private static let income: [IncomeBand: Empmon_V1_IncomeBand] = [
        .below2000: .below2000, .from2000To3999: .incomeBand20003999, .from4000To5999: .incomeBand40005999,
        .from6000To7999: .incomeBand60007999, .atLeast8000: .incomeBand8000Plus,
    ]

    private static func optionalCase<Domain: Hashable, WireCase: SwiftProtobuf.Enum>(
        _ value: WireCase, _ table: [Domain: WireCase], field: String
    ) throws(ValidationReason) -> Domain? {
        if value.rawValue == 0 { return nil }
        guard let match = table.first(where: { $0.value == value })?.key else {
            throw malformed(field, "取值无法识别", "unknown value \(value.rawValue)")
        }
        return match
    }

    private static func recordID(_ text: String) throws(ValidationReason) -> RecordID {
        guard let id = RecordID(text) else { throw malformed("record_id", "记录编号不是有效的UUID", "record id is not a UUID") }
        return id
    }

    private static func unit(_ text: String) throws(ValidationReason) -> DivisionCode {
        guard let code = DivisionCode(text) else {
            throw malformed(
                "unit", "单位代码“\(text.prefix(20))”不是12位区划代码", "unit '\(text.prefix(20))' is not a 12-digit division code"
            )
        }
        return code
    }

    private static func period(_ text: String) throws(ValidationReason) -> Period {
        guard let period = Period(text) else {
            throw malformed(
                "period", "报送期“\(text.prefix(10))”格式应为YYYY-MM", "period '\(text.prefix(10))' is not YYYY-MM")
        }
        return period
    }

    private static func malformed(_ field: String, _ chinese: String, _ english: String) -> ValidationReason {
        ValidationReason(.init(rawValue: "\(field).malformed"), field: field, chinese: chinese, english: english)
    }
}

/// Topic names of the wire contract (also in Topology/topics.json, which a test keeps in step).
/// The `empmon.kind` header of each message an agent sends.
package enum WireKinds {
    package static let person = "person"
    package static let activity = "activity"
    /// A control total; it travels on the topic of the records it counts.
    package static let manifest = "manifest"
    /// An agent's new public key (`KeyAnnouncement`), on the person-status topic.
    package static let key = "key"
}

package enum WireTopics {
    package static let personStatus = "empmon.person-status.records.v1"
    package static let unitActivity = "empmon.unit-activity.records.v1"
    package static let deadLetter = "empmon.records.dead-letter.v1"
    package static let alerts = "empmon.alerts.v1"
    /// The city's receipts (`SubmissionReceipt`, JSON), keyed by agent id.
    package static let receipts = "empmon.submission-receipts.v1"
}

extension Wire {
    /// A receipt as JSON: read by agents of any version, which ignore fields they do not know.
    package static func encode(_ receipt: SubmissionReceipt) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return Array(try encoder.encode(receipt))
    }

    package static func decodeReceipt(_ bytes: [UInt8]) throws -> SubmissionReceipt {
        let receipt = try JSONDecoder().decode(SubmissionReceipt.self, from: Data(bytes))
        guard receipt.version >= 1 else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: [], debugDescription: "receipt version \(receipt.version)"))
        }
        return receipt
    }
}

extension Wire {
    package static func encode(_ rejection: RecordRejection) throws -> [UInt8] {
        var message = Empmon_V1_Rejection()
        message.recordID = rejection.recordID ?? ""
        message.agentID = rejection.agentID ?? ""
        message.reasonCode = rejection.reason.code.rawValue
        message.field = rejection.reason.field
        message.messageZh = rejection.chineseMessage
        message.messageEn = rejection.englishMessage
        message.topic = rejection.topic
        message.partition = rejection.partition
        message.offset = rejection.offset
        message.payload = Data(rejection.payload)
        message.rejectedAtMs = rejection.rejectedAtMilliseconds
        return try Array(message.serializedBytes() as [UInt8])
    }

    /// A dead-letter message as plain values (for operators' tools and tests).
    package struct DeadLetter: Sendable, Hashable {
        package let recordID: String
        package let agentID: String
        package let reasonCode: String
        package let field: String
        package let messageZh: String
        package let messageEn: String
        package let topic: String
        package let partition: Int32
        package let offset: Int64
        package let payload: [UInt8]
    }

    package static func decodeDeadLetter(_ bytes: [UInt8]) throws -> DeadLetter {
        let message = try Empmon_V1_Rejection(serializedBytes: bytes)
        return DeadLetter(
            recordID: message.recordID, agentID: message.agentID, reasonCode: message.reasonCode, field: message.field,
            messageZh: message.messageZh, messageEn: message.messageEn, topic: message.topic,
            partition: message.partition,
            offset: message.offset, payload: Array(message.payload))
    }
}
