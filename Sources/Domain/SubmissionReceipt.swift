/// What the city tells an agent it stored, written in the same transaction as the batch that stored it and
/// published after that transaction commits (the processor's receipt outbox). One receipt per agent and
/// batch: the standing of every unit-month whose manifest the batch read (a re-sent manifest included), and
/// every record of the agent the batch rejected. It carries nothing the agent did not send: record ids,
/// counts and the city's reasons.
package struct SubmissionReceipt: Sendable, Equatable, Codable {
    package static let currentVersion = 1

    /// One manifest the batch read, beside what the ledger holds for its unit-month after the batch.
    package struct Standing: Sendable, Equatable, Codable {
        /// The manifest's record id: the agent finds its submission by it.
        package let manifest: String
        package let unit: String
        package let period: String
        package let kind: String
        package let declared: Int
        /// Records of the unit-month in the ledger (persons of the village-month; 0 or 1 activity report).
        package let stored: Int
        /// Ids of the unit-month's records the ledger holds under another unit's newer report of the same person
        /// (a person two villages reported in one month): accounted for, not missing. Absent from receipts of
        /// processors before it, and read as none.
        package let superseded: [String]

        package init(
            manifest: String, unit: String, period: String, kind: String, declared: Int, stored: Int,
            superseded: [String] = []
        ) {
            self.manifest = manifest
            self.unit = unit
            self.period = period
            self.kind = kind
            self.declared = declared
            self.stored = stored
            self.superseded = superseded
        }

        package init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            manifest = try container.decode(String.self, forKey: .manifest)
            unit = try container.decode(String.self, forKey: .unit)
            period = try container.decode(String.self, forKey: .period)
            kind = try container.decode(String.self, forKey: .kind)
            declared = try container.decode(Int.self, forKey: .declared)
            stored = try container.decode(Int.self, forKey: .stored)
            superseded = try container.decodeIfPresent([String].self, forKey: .superseded) ?? []
        }
    }

    /// One record the city refused, with its reason as the clerk reads it.
    package struct Rejection: Sendable, Equatable, Codable {
        package let record: String
        package let reasonCode: String
        package let field: String
        /// Every problem the city found, in Chinese, each after its field (as the clerk's page shows row errors).
        package let chinese: String

        package init(record: String, reasonCode: String, field: String, chinese: String) {
            self.record = record
            self.reasonCode = reasonCode
            self.field = field
            self.chinese = chinese
        }
    }

    package let version: Int
    package let agentID: String
    /// When the batch committed, in milliseconds since 1970 (the city's clock).
    package let storedAtMilliseconds: Int64
    package let standings: [Standing]
    package let rejections: [Rejection]
    /// Ids of the agent's public keys the city holds that the batch read announcements of: the agent signs with
    /// a new key once it reads its id here. Absent from receipts of processors before keys, and read as none.
    package let keys: [String]

    package init(
        agentID: String, storedAtMilliseconds: Int64, standings: [Standing], rejections: [Rejection],
        keys: [String] = [], version: Int = currentVersion
    ) {
        self.version = version
        self.agentID = agentID
        self.storedAtMilliseconds = storedAtMilliseconds
        self.standings = standings
        self.rejections = rejections
        self.keys = keys
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        version = try container.decode(Int.self, forKey: .version)
        agentID = try container.decode(String.self, forKey: .agentID)
        storedAtMilliseconds = try container.decode(Int64.self, forKey: .storedAtMilliseconds)
        standings = try container.decode([Standing].self, forKey: .standings)
        rejections = try container.decode([Rejection].self, forKey: .rejections)
        keys = try container.decodeIfPresent([String].self, forKey: .keys) ?? []
    }
}
