extension ValidationReason.Code {
    package static let unknownAgent = Self(rawValue: "agent.unknown")
    package static let revokedAgent = Self(rawValue: "agent.revoked")
    package static let invalidSignature = Self(rawValue: "signature.invalid")
    package static let outsideAgentScope = Self(rawValue: "scope.outside_agent")
    package static let agentMismatch = Self(rawValue: "agent.mismatch")
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
            english: "agent '\(agentID)' has been revoked; its records are no longer accepted")
    }

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
        offset: Int64, key: [UInt8]?, payload: [UInt8], rejectedAtMilliseconds: Int64
    ) {
        self.recordID = recordID
        self.agentID = agentID
        self.unit = unit
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
