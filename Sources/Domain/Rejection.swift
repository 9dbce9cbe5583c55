extension ValidationReason.Code {
    package static let unknownAgent = Self(rawValue: "agent.unknown")
    package static let revokedAgent = Self(rawValue: "agent.revoked")
    package static let invalidSignature = Self(rawValue: "signature.invalid")
    package static let outsideAgentScope = Self(rawValue: "scope.outside_agent")
    package static let agentMismatch = Self(rawValue: "agent.mismatch")
    package static let unknownKey = Self(rawValue: "key.unknown")
    package static let retiredKey = Self(rawValue: "key.retired")
    package static let hmacRetired = Self(rawValue: "signature.hmac_retired")
    package static let enrolmentCodeInvalid = Self(rawValue: "key.enrolment_code_invalid")
    package static let keyProofInvalid = Self(rawValue: "key.proof_invalid")
}

extension ValidationReason {
    package static func unknownAgent(_ agentID: String) -> Self {
        .init(
            .unknownAgent, field: "agent_id", chinese: "报送终端“\(agentID.prefix(64))”未在市级登记",
            english: "agent '\(agentID.prefix(64))' is not enrolled with the city")
    }

    package static func revokedAgent(_ agentID: String) -> Self {
        .init(
            .revokedAgent, field: "agent_id", chinese: "报送终端“\(agentID)”已被注销，不再接收其数据",
            english: "agent '\(agentID)' has been revoked; what it signs since is not accepted")
    }

    package static func unknownKey(_ keyID: String) -> Self {
        .init(
            .unknownKey, field: "seal", chinese: "签名密钥“\(keyID.prefix(16))”未在市级登记",
            english: "the signing key '\(keyID.prefix(16))' is not registered with the city for this agent")
    }

    package static func retiredKey(_ keyID: String) -> Self {
        .init(
            .retiredKey, field: "seal", chinese: "签名密钥“\(keyID.prefix(16))”已更换，过渡期已结束",
            english: "the signing key '\(keyID.prefix(16))' was replaced and its overlap window has ended")
    }

    package static let hmacRetired = Self(
        .hmacRetired, field: "signature", chinese: "共享密钥签名已停止接收，请重新登记报送终端",
        english: "HMAC signatures are no longer accepted from this agent; enrol it again")

    package static let enrolmentCodeInvalid = Self(
        .enrolmentCodeInvalid, field: "proof", chinese: "登记码错误、已使用或已过期",
        english: "the enrolment code is wrong, used or expired")

    package static let keyProofInvalid = Self(
        .keyProofInvalid, field: "proof", chinese: "新公钥未经原密钥有效签名",
        english: "the new key is not signed by a key the city accepts for this agent")

    package static let invalidSignature = Self(
        .invalidSignature, field: "signature", chinese: "签名校验失败：记录未签名、被篡改或密钥不符",
        english: "the signature does not verify: the record is unsigned, altered or signed with another key")

    package static func outsideScope(unit: DivisionCode, agentUnit: DivisionCode) -> Self {
        .init(
            .outsideAgentScope, field: "unit_code", chinese: "单位\(unit)不在报送终端所辖范围（\(agentUnit)）内",
            english: "unit \(unit) is outside the agent's scope (\(agentUnit))")
    }

    package static func agentMismatch(header: String, record: String) -> Self {
        .init(
            .agentMismatch, field: "agent_id", chinese: "消息头的终端“\(header.prefix(64))”与记录中的终端“\(record.prefix(64))”不一致",
            english: "the message header names agent '\(header.prefix(64))' but the record names '\(record.prefix(64))'"
        )
    }
}

/// A record the city refused, as stored in the rejections table and published on the dead-letter topic.
package struct RecordRejection: Sendable, Hashable {
    package var recordID: String?
    package var agentID: String?
    package var unit: String?
    /// The month the record was for, when it could be read.
    package var period: Period?
    package var reason: ValidationReason
    /// Every problem found, the first of which is `reason`.
    package var problems: [ValidationReason]
    package var topic: String
    package var partition: Int32
    package var offset: Int64
    package var key: [UInt8]?
    package var payload: [UInt8]
    package var rejectedAtMilliseconds: Int64

    package init(
        recordID: String?, agentID: String?, unit: String?, problems: [ValidationReason], topic: String,
        partition: Int32,
        offset: Int64, key: [UInt8]?, payload: [UInt8], rejectedAtMilliseconds: Int64, period: Period? = nil
    ) {
        self.recordID = recordID
        self.agentID = agentID
        self.unit = unit
        self.period = period
        let problems =
            problems.isEmpty
            ? [
                ValidationReason(
                    .init(rawValue: "unspecified"), field: "", chinese: "未说明原因", english: "no reason given")
            ] : problems
        self.reason = problems[0]
        self.problems = problems
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.payload = payload
        self.rejectedAtMilliseconds = rejectedAtMilliseconds
    }

    package var chineseMessage: String { problems.map { "\($0.field)：\($0.chinese)" }.joined(separator: "；") }
    package var englishMessage: String { problems.map { "\($0.field): \($0.english)" }.joined(separator: "; ") }
}
