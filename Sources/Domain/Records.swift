/// Sex, from the resident ID number.
package enum Sex: String, Sendable, Hashable, Codable, CaseIterable { case male, female }

/// Labour-market status in the month.
package enum EmploymentStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case employed, unemployed
    /// Students, retirees, homemakers and others neither working nor seeking work.
    case notInLabourForce = "not_in_labour_force"
}

/// How an employed person works.
package enum EmploymentForm: String, Sendable, Hashable, Codable, CaseIterable {
    case employee, flexible
    case selfEmployed = "self_employed"
    /// 公益性岗位, publicly funded posts for hard-to-employ persons.
    case publicWelfarePost = "public_welfare_post"
}

/// Where an employed person works, relative to home.
package enum WorkLocation: String, Sendable, Hashable, Codable, CaseIterable {
    case local
    case inProvince = "in_province"
    case outOfProvince = "out_of_province"
}

/// Person categories tracked by the plan.
package enum PersonGroup: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case collegeGraduate = "college_graduate"
    case ruralLabour = "rural_labour"
    case hardToEmploy = "hard_to_employ"
    case povertyAlleviated = "poverty_alleviated"
    case disabled
    case veteran

    package static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// GB/T 4754-2017 industry sections A–T.
package enum Sector: String, Sendable, Hashable, Codable, CaseIterable {
    case a = "A"
    case b = "B"
    case c = "C"
    case d = "D"
    case e = "E"
    case f = "F"
    case g = "G"
    case h = "H"
    case i = "I"
    case j = "J"
    case k = "K"
    case l = "L"
    case m = "M"
    case n = "N"
    case o = "O"
    case p = "P"
    case q = "Q"
    case r = "R"
    case s = "S"
    case t = "T"
}

/// Monthly income bands (yuan).
package enum IncomeBand: String, Sendable, Hashable, Codable, CaseIterable {
    case below2000 = "below_2000"
    case from2000To3999 = "2000_3999"
    case from4000To5999 = "4000_5999"
    case from6000To7999 = "6000_7999"
    case atLeast8000 = "8000_plus"
}

/// One person's situation in one month, as the agent of the person's village or community reports it.
/// Identities are pseudonymous: keys are HMAC-SHA256 under the city's key, never raw ID numbers.
package struct PersonStatusRecord: Sendable, Hashable {
    package static let currentSchemaVersion = 1

    private struct Fields: Hashable {
        var recordID: RecordID
        var schemaVersion: Int
        var unit: DivisionCode
        var period: Period
        var personKey: String
        var person: PersonKey
        var householdKey: String
        var birthYear: Int
        var sex: Sex
        var status: EmploymentStatus
        var employmentForm: EmploymentForm?
        var workLocation: WorkLocation?
        var sector: Sector?
        var registeredUnemployed: Bool
        var groups: Set<PersonGroup>
        var seekingWork: Bool
        var assisted: Bool
        var trained: Bool
        var incomeBand: IncomeBand?
        var reportedAtMilliseconds: Int64
        var agentID: String
        var signature: [UInt8]
        var seal: RecordSeal?
    }

    /// The fields in one shared box, never changed once made. A batch copies each record several times (into its
    /// plan, its maps, the ledger's rows, the members' memory), and as ~10 separately counted references (ids,
    /// keys, groups, signature, seal) those copies were about a seventh of the processor's CPU; one box is one.
    private final class Box: Sendable {
        let fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var box: Box

    package var recordID: RecordID {
        get { box.fields.recordID }
        set { change { $0.recordID = newValue } }
    }
    package var schemaVersion: Int {
        get { box.fields.schemaVersion }
        set { change { $0.schemaVersion = newValue } }
    }
    package var unit: DivisionCode {
        get { box.fields.unit }
        set { change { $0.unit = newValue } }
    }
    package var period: Period {
        get { box.fields.period }
        set { change { $0.period = newValue } }
    }
    /// 64 lowercase hex digits.
    package var personKey: String {
        get { box.fields.personKey }
        set {
            change {
                $0.personKey = newValue
                $0.person = PersonKey(newValue)
            }
        }
    }
    /// `personKey` as the batch's maps hold it, made once with the record.
    package var person: PersonKey { box.fields.person }
    package var householdKey: String {
        get { box.fields.householdKey }
        set { change { $0.householdKey = newValue } }
    }
    package var birthYear: Int {
        get { box.fields.birthYear }
        set { change { $0.birthYear = newValue } }
    }
    package var sex: Sex {
        get { box.fields.sex }
        set { change { $0.sex = newValue } }
    }
    package var status: EmploymentStatus {
        get { box.fields.status }
        set { change { $0.status = newValue } }
    }
    package var employmentForm: EmploymentForm? {
        get { box.fields.employmentForm }
        set { change { $0.employmentForm = newValue } }
    }
    package var workLocation: WorkLocation? {
        get { box.fields.workLocation }
        set { change { $0.workLocation = newValue } }
    }
    package var sector: Sector? {
        get { box.fields.sector }
        set { change { $0.sector = newValue } }
    }
    package var registeredUnemployed: Bool {
        get { box.fields.registeredUnemployed }
        set { change { $0.registeredUnemployed = newValue } }
    }
    package var groups: Set<PersonGroup> {
        get { box.fields.groups }
        set { change { $0.groups = newValue } }
    }
    package var seekingWork: Bool {
        get { box.fields.seekingWork }
        set { change { $0.seekingWork = newValue } }
    }
    package var assisted: Bool {
        get { box.fields.assisted }
        set { change { $0.assisted = newValue } }
    }
    package var trained: Bool {
        get { box.fields.trained }
        set { change { $0.trained = newValue } }
    }
    package var incomeBand: IncomeBand? {
        get { box.fields.incomeBand }
        set { change { $0.incomeBand = newValue } }
    }
    /// Milliseconds since 1970 when the agent accepted the row.
    package var reportedAtMilliseconds: Int64 {
        get { box.fields.reportedAtMilliseconds }
        set { change { $0.reportedAtMilliseconds = newValue } }
    }
    package var agentID: String {
        get { box.fields.agentID }
        set { change { $0.agentID = newValue } }
    }
    /// HMAC-SHA256 of `canonicalBytes` under the agent's secret; empty before signing and when sealed.
    package var signature: [UInt8] {
        get { box.fields.signature }
        set { change { $0.signature = newValue } }
    }
    /// The Ed25519 seal of the submission the record belongs to; nil for an HMAC-signed record.
    package var seal: RecordSeal? {
        get { box.fields.seal }
        set { change { $0.seal = newValue } }
    }
    package var signatureScheme: SignatureScheme { seal == nil ? .hmacSHA256 : .ed25519Merkle }

    package init(
        recordID: RecordID, schemaVersion: Int = Self.currentSchemaVersion, unit: DivisionCode, period: Period,
        personKey: String, householdKey: String, birthYear: Int, sex: Sex, status: EmploymentStatus,
        employmentForm: EmploymentForm? = nil, workLocation: WorkLocation? = nil, sector: Sector? = nil,
        registeredUnemployed: Bool = false, groups: Set<PersonGroup> = [], seekingWork: Bool = false,
        assisted: Bool = false, trained: Bool = false, incomeBand: IncomeBand? = nil, reportedAtMilliseconds: Int64,
        agentID: String, signature: [UInt8] = [], seal: RecordSeal? = nil
    ) {
        box = Box(
            Fields(
                recordID: recordID, schemaVersion: schemaVersion, unit: unit, period: period, personKey: personKey,
                person: PersonKey(personKey), householdKey: householdKey, birthYear: birthYear, sex: sex,
                status: status,
                employmentForm: employmentForm, workLocation: workLocation, sector: sector,
                registeredUnemployed: registeredUnemployed, groups: groups, seekingWork: seekingWork,
                assisted: assisted, trained: trained, incomeBand: incomeBand,
                reportedAtMilliseconds: reportedAtMilliseconds, agentID: agentID, signature: signature, seal: seal))
    }

    /// Gives the record its submission's seal in place of any HMAC signature (one new box, not two).
    package mutating func seal(with seal: RecordSeal) {
        change {
            $0.signature = []
            $0.seal = seal
        }
    }

    /// A new box for a changed record: a box other copies share stays as it is.
    private mutating func change(_ body: (inout Fields) -> Void) {
        var fields = box.fields
        body(&fields)
        box = Box(fields)
    }

    package static func == (lhs: Self, rhs: Self) -> Bool { lhs.box === rhs.box || lhs.box.fields == rhs.box.fields }

    package func hash(into hasher: inout Hasher) { hasher.combine(box.fields) }
}

/// The monthly counters of a township or county service station.
package struct UnitActivityReport: Sendable, Hashable {
    package static let currentSchemaVersion = 1

    package enum Counter: String, Sendable, Hashable, CaseIterable, Codable {
        case jobsCollected = "jobs_collected"
        case recruitmentEvents = "recruitment_events"
        case internshipPosts = "internship_posts"
        case gigMarketServices = "gig_market_services"
        case entrepreneurshipTrainees = "entrepreneurship_trainees"
        case jobsCreatedByEntrepreneurship = "jobs_created_by_entrepreneurship"
        case trainingCompletions = "training_completions"
        case labourDisputesHandled = "labour_disputes_handled"
        case wageArrearsCases = "wage_arrears_cases"
    }

    package var recordID: RecordID
    package var schemaVersion: Int
    package var unit: DivisionCode
    package var period: Period
    /// Counters not reported are absent, not zero.
    package var counters: [Counter: Int64]
    package var reportedAtMilliseconds: Int64
    package var agentID: String
    package var signature: [UInt8]
    /// The Ed25519 seal of the submission the record belongs to; nil for an HMAC-signed record.
    package var seal: RecordSeal? = nil
    package var signatureScheme: SignatureScheme { seal == nil ? .hmacSHA256 : .ed25519Merkle }

    package init(
        recordID: RecordID, schemaVersion: Int = Self.currentSchemaVersion, unit: DivisionCode, period: Period,
        counters: [Counter: Int64], reportedAtMilliseconds: Int64, agentID: String, signature: [UInt8] = []
    ) {
        self.recordID = recordID
        self.schemaVersion = schemaVersion
        self.unit = unit
        self.period = period
        self.counters = counters
        self.reportedAtMilliseconds = reportedAtMilliseconds
        self.agentID = agentID
        self.signature = signature
    }
}

/// A record's identity: a UUID in its canonical lowercase text form, by which the city deduplicates.
package struct RecordID: Hashable, Sendable, CustomStringConvertible, Comparable {
    package let text: String

    /// Accepts the 8-4-4-4-12 hex form in either case. (Checked byte by byte without copies: every record the
    /// city reads comes through here.)
    package init?(_ text: String) {
        guard text.utf8.count == 36 else { return nil }
        var upper = false
        for (index, byte) in text.utf8.enumerated() {
            switch (index, byte) {
            case (8, _), (13, _), (18, _), (23, _): guard byte == UInt8(ascii: "-") else { return nil }
            case (_, 48...57), (_, 97...102): continue
            case (_, 65...70): upper = true
            default: return nil
            }
        }
        self.text = upper ? text.lowercased() : text
    }

    /// A random version-4 UUID.
    package static func random<G: RandomNumberGenerator>(using generator: inout G) -> RecordID {
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = bytes[6] & 0x0f | 0x40
        bytes[8] = bytes[8] & 0x3f | 0x80
        let hex = bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
        let parts = [
            hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4), hex.dropFirst(16).prefix(4),
            hex.dropFirst(20),
        ]
        return RecordID(parts.joined(separator: "-"))!
    }

    package static func random() -> RecordID {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    package var description: String { text }
    package static func < (lhs: RecordID, rhs: RecordID) -> Bool { lhs.text < rhs.text }
}

extension String {
    /// The text right-aligned in `width` characters: hex digits with zeros, table cells with spaces.
    package func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
