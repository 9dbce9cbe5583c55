import Crypto

/// The bytes of a record that its signature covers: every field but the signature, in a fixed order,
/// each length-prefixed, so that no two different records share them and no wire encoding (protobuf
/// field order, map order) can change them.
package enum CanonicalBytes {
    package static func of(_ record: PersonStatusRecord) -> [UInt8] {
        var writer = Writer(tag: "empmon.person_status.v1")
        writer.field(record.recordID.text)
        writer.field(String(record.schemaVersion))
        writer.field(record.unit.description)
        writer.field(record.period.description)
        writer.field(record.personKey)
        writer.field(record.householdKey)
        writer.field(String(record.birthYear))
        writer.field(record.sex.rawValue)
        writer.field(record.status.rawValue)
        writer.field(record.employmentForm?.rawValue)
        writer.field(record.workLocation?.rawValue)
        writer.field(record.sector?.rawValue)
        writer.field(record.registeredUnemployed ? "1" : "0")
        writer.field(record.groups.sorted().map(\.rawValue).joined(separator: ","))
        writer.field(record.seekingWork ? "1" : "0")
        writer.field(record.assisted ? "1" : "0")
        writer.field(record.trained ? "1" : "0")
        writer.field(record.incomeBand?.rawValue)
        writer.field(String(record.reportedAtMilliseconds))
        writer.field(record.agentID)
        return writer.bytes
    }

    package static func of(_ report: UnitActivityReport) -> [UInt8] {
        var writer = Writer(tag: "empmon.unit_activity.v1")
        writer.field(report.recordID.text)
        writer.field(String(report.schemaVersion))
        writer.field(report.unit.description)
        writer.field(report.period.description)
        for counter in UnitActivityReport.Counter.allCases {
            writer.field(report.counters[counter].map { String($0) })
        }
        writer.field(String(report.reportedAtMilliseconds))
        writer.field(report.agentID)
        return writer.bytes
    }

    package static func of(_ manifest: SubmissionManifest) -> [UInt8] {
        var writer = Writer(tag: "empmon.submission_manifest.v1")
        writer.field(manifest.recordID.text)
        writer.field(String(manifest.schemaVersion))
        writer.field(manifest.unit.description)
        writer.field(manifest.period.description)
        writer.field(manifest.kind.rawValue)
        writer.field(String(manifest.records))
        writer.field(manifest.digestHex)
        writer.field(String(manifest.reportedAtMilliseconds))
        writer.field(manifest.agentID)
        return writer.bytes
    }

    package static func ofSeal(agentID: String, keyID: String, rootHex: String, leafCount: Int) -> [UInt8] {
        var writer = Writer(tag: "empmon.seal.v1")
        writer.field(agentID)
        writer.field(keyID)
        writer.field(rootHex)
        writer.field(String(leafCount))
        return writer.bytes
    }

    package static func of(_ announcement: KeyAnnouncement) -> [UInt8] {
        var writer = Writer(tag: "empmon.key_announcement.v1")
        writer.field(announcement.recordID.text)
        writer.field(announcement.agentID)
        writer.field(RecordSeal.hex(announcement.publicKey.bytes))
        writer.field(String(announcement.announcedAtMilliseconds))
        switch announcement.proof {
        case .enrolmentCode: writer.field("enrolment-code")
        case .previousKey(let keyID, _): writer.field("previous-key:" + keyID)
        case .hmac: writer.field("hmac")
        }
        return writer.bytes
    }

    private struct Writer {
        var bytes: [UInt8] = []

        init(tag: String) {
            // A person record's bytes are ~350: one allocation, where growing the array took several per record.
            bytes.reserveCapacity(512)
            field(tag)
        }

        /// A present value as its 4-byte big-endian length and UTF-8; an absent one as length 0xFFFFFFFF.
        mutating func field(_ value: String?) {
            guard let value else {
                length(0xffff_ffff)
                return
            }
            length(UInt32(value.utf8.count))
            bytes.append(contentsOf: value.utf8)
        }

        private mutating func length(_ length: UInt32) {
            bytes.append(UInt8(length >> 24))
            bytes.append(UInt8(length >> 16 & 0xff))
            bytes.append(UInt8(length >> 8 & 0xff))
            bytes.append(UInt8(length & 0xff))
        }
    }
}

/// Signs and verifies records with an agent's secret (HMAC-SHA256 of the canonical bytes).
package struct RecordSigner: Sendable {
    /// HMAC with the key already absorbed, copied for each record: setting up the key was a quarter of the
    /// city's check of a record. Never mutated; a copy's first update copies the hash state (copy-on-write),
    /// so copies on several threads at once do not share it. (swift-crypto 3 marks neither it nor
    /// `SymmetricKey` Sendable.)
    nonisolated(unsafe) private let keyed: HMAC<SHA256>

    package init(secret: [UInt8]) { keyed = HMAC<SHA256>(key: SymmetricKey(data: secret)) }

    private func code(for bytes: [UInt8]) -> HMAC<SHA256>.MAC {
        var mac = keyed
        mac.update(data: bytes)
        return mac.finalize()
    }

    /// Constant-time comparison of `signature` with the code this key makes for `bytes`.
    private func verifies(_ signature: [UInt8], _ bytes: [UInt8]) -> Bool { code(for: bytes) == signature }

    package func sign(_ record: inout PersonStatusRecord) {
        record.signature = Array(code(for: CanonicalBytes.of(record)))
    }

    package func sign(_ report: inout UnitActivityReport) {
        report.signature = Array(code(for: CanonicalBytes.of(report)))
    }

    package func sign(_ manifest: inout SubmissionManifest) {
        manifest.signature = Array(code(for: CanonicalBytes.of(manifest)))
    }

    package func code(for announcement: KeyAnnouncement) -> [UInt8] {
        Array(code(for: CanonicalBytes.of(announcement)))
    }

    package func isValid(_ announcement: KeyAnnouncement) -> Bool {
        guard case .hmac(let signature) = announcement.proof else { return false }
        return verifies(signature, CanonicalBytes.of(announcement))
    }

    package func isValid(_ manifest: SubmissionManifest) -> Bool {
        verifies(manifest.signature, CanonicalBytes.of(manifest))
    }

    /// Constant-time comparison of the signature with the one this key makes.
    package func isValid(_ record: PersonStatusRecord) -> Bool { verifies(record.signature, CanonicalBytes.of(record)) }

    package func isValid(_ report: UnitActivityReport) -> Bool { verifies(report.signature, CanonicalBytes.of(report)) }
}

/// Turns resident ID numbers and household numbers into the pseudonymous keys that leave the agent:
/// HMAC-SHA256 under the city's pseudonymization key, with a different domain tag for each kind, as 64
/// lowercase hex digits. Without the key, a key cannot be traced back to a person, not even by trying
/// every possible ID number.
package struct Pseudonymizer: Sendable {
    private let cityKey: [UInt8]
    private var key: SymmetricKey { SymmetricKey(data: cityKey) }

    package init(cityKey: [UInt8]) { self.cityKey = cityKey }

    package func personKey(for id: ResidentID) -> String {
        hex(HMAC<SHA256>.authenticationCode(for: Array(("person:" + id.normalized).utf8), using: key))
    }

    /// Why a household number is refused; never repeats the number.
    package enum HouseholdProblem: Error, Sendable, Hashable, CustomStringConvertible {
        case empty, tooLong, invalidCharacter
        package var description: String {
            switch self {
            case .empty: "户编号为空 (household number is empty)"
            case .tooLong: "户编号超过40个字符 (household number longer than 40 characters)"
            case .invalidCharacter: "户编号只能包含字母、数字和连字符 (household number may hold letters, digits and hyphens only)"
            }
        }
    }

    /// Household numbers have no national format; they are trimmed and upper-cased, and must be letters,
    /// digits or hyphens.
    package func householdKey(for number: String) throws(HouseholdProblem) -> String {
        let normalized = number.trimmingCharacters(in: " \t").uppercased()
        guard !normalized.isEmpty else { throw .empty }
        guard normalized.utf8.count <= 40 else { throw .tooLong }
        guard normalized.utf8.allSatisfy({ (48...57).contains($0) || (65...90).contains($0) || $0 == 45 }) else {
            throw .invalidCharacter
        }
        return hex(HMAC<SHA256>.authenticationCode(for: Array(("household:" + normalized).utf8), using: key))
    }

    private func hex(_ code: HashedAuthenticationCode<SHA256>) -> String {
        Array(code).map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }
}
