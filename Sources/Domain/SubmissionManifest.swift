import Crypto

/// A control total, as statistical offices reconcile against them: after each submission, the unit-month
/// as its agent holds it. `records` counts the current record of every person (or the unit's activity
/// report) the agent has sent for that unit and month, over all its submissions, and `digest` is SHA-256
/// of their record ids (lowercase, sorted, joined by commas). The city's ledger for the unit-month should
/// hold exactly those records; anything lost between the clerk's file and the ledger shows as a shortfall.
package struct SubmissionManifest: Sendable, Equatable {
    package static let currentSchemaVersion = 1

    package enum Kind: String, Sendable, CaseIterable { case person, activity }

    package var recordID: RecordID
    package var schemaVersion: Int
    package var unit: DivisionCode
    package var period: Period
    package var kind: Kind
    package var records: Int
    package var digest: [UInt8]
    package var reportedAtMilliseconds: Int64
    package var agentID: String
    package var signature: [UInt8]
    /// The Ed25519 seal of the submission the record belongs to; nil for an HMAC-signed record.
    package var seal: RecordSeal? = nil
    package var signatureScheme: SignatureScheme { seal == nil ? .hmacSHA256 : .ed25519Merkle }

    package init(
        recordID: RecordID, schemaVersion: Int = currentSchemaVersion, unit: DivisionCode, period: Period, kind: Kind,
        records: Int,
        digest: [UInt8], reportedAtMilliseconds: Int64, agentID: String, signature: [UInt8] = []
    ) {
        self.recordID = recordID
        self.schemaVersion = schemaVersion
        self.unit = unit
        self.period = period
        self.kind = kind
        self.records = records
        self.digest = digest
        self.reportedAtMilliseconds = reportedAtMilliseconds
        self.agentID = agentID
        self.signature = signature
    }

    /// The digest as 64 lowercase hex digits.
    package var digestHex: String { digest.map { String($0, radix: 16).leftPadded(to: 2) }.joined() }

    /// The digest of a set of record ids, as PostgreSQL computes it from the ledger
    /// (`sha256(convert_to(string_agg(record_id::text, ',' ORDER BY record_id), 'UTF8'))`: a uuid sorts by its
    /// bytes, which is the order of its lowercase text).
    package static func digest(of recordIDs: some Sequence<String>) -> [UInt8] {
        Array(SHA256.hash(data: Array(recordIDs.map { $0.lowercased() }.sorted().joined(separator: ",").utf8)))
    }
}

extension RecordValidator {
    /// A manifest's unit and month: a person manifest is a village's, an activity one a station's.
    package func problems(with manifest: SubmissionManifest) -> [ValidationReason] {
        var problems: [ValidationReason] = []
        if manifest.schemaVersion != SubmissionManifest.currentSchemaVersion {
            problems.append(
                .init(
                    .unsupportedSchema, field: "schema_version",
                    chinese: "控制总数格式版本\(manifest.schemaVersion)不受支持，请升级报送程序",
                    english: "manifest schema version \(manifest.schemaVersion) is not supported; update the agent"))
        }
        if topology[manifest.unit] == nil {
            problems.append(
                .init(
                    .unknownUnit, field: "unit", chinese: "单位代码\(manifest.unit)不在长治市区划中",
                    english: "unit \(manifest.unit) is not a division of \(topology.city.name)"))
        }
        if manifest.period > latestPeriod || manifest.period < Period.earliest {
            problems.append(
                .init(
                    .periodInFuture, field: "period", chinese: "报送期\(manifest.period)不在可报送范围内",
                    english: "period \(manifest.period) is outside 2020-01…\(latestPeriod)"))
        }
        if manifest.records < 0 || manifest.digest.count != 32 {
            problems.append(
                .init(
                    .malformedManifest, field: "records",
                    chinese: "控制总数的记录数或摘要无效", english: "the manifest's record count or digest is malformed"))
        }
        return problems
    }
}

extension ValidationReason.Code {
    package static let malformedManifest = Self(rawValue: "manifest.malformed")
}
