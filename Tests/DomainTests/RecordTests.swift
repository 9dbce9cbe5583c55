import Domain
import Foundation
import TestSupport
import Testing
import Wire

@Suite("Records: protobuf and canonical bytes, signatures, pseudonyms")
struct RecordTests {
    let signer = RecordSigner(secret: Array("agent secret of 140403001001".utf8))

    @Test("A person record round-trips through protobuf bytes, and its signature still verifies")
    func personRoundTrip() throws {
        var record = Fixtures.person()
        record.groups = Set(PersonGroup.allCases)
        signer.sign(&record)
        #expect(record.signature.count == 32)
        let decoded = try Wire.decodePersonStatus(try Wire.encode(record))
        #expect(decoded == record)
        #expect(CanonicalBytes.of(decoded) == CanonicalBytes.of(record))
        #expect(signer.isValid(decoded))
        let unemployed = Fixtures.person(status: .unemployed, form: nil, location: nil, sector: nil)
        #expect(try Wire.decodePersonStatus(try Wire.encode(unemployed)) == unemployed)
    }

    /// Signatures already in agents' spools and in the ledger must keep verifying: what a signature covers may
    /// not change by accident (a faster canonical writer, say). These are the codes the first version made.
    @Test("Signatures of fixed records are the codes they always were")
    func signaturesAreStable() {
        var person = Fixtures.person()
        var activity = Fixtures.activity()
        var manifest = SubmissionManifest(
            recordID: RecordID("3f2504e0-4f89-41d3-9a0c-0305e82c3301")!, unit: Fixtures.village,
            period: Period("2024-10")!, kind: .person, records: 12, digest: [UInt8](repeating: 0xab, count: 32),
            reportedAtMilliseconds: 1_730_000_000_000, agentID: "agent-140403001001")
        signer.sign(&person)
        signer.sign(&activity)
        signer.sign(&manifest)
        let hex = { (bytes: [UInt8]) in bytes.map { String(format: "%02x", $0) }.joined() }
        #expect(hex(person.signature) == "28901a83af40b72aa6c6d74c8b7a487249c50ca4307dba152ef7ee02f5fdd376")
        #expect(hex(activity.signature) == "0f268db1d75d115f3655b1c88a05b70d747953f6bb46518972799c69508ad943")
        #expect(hex(manifest.signature) == "ddf4b7d6e3b452bb51aafaf4263c5dae5e156078263e408d85cf70a3000c3fbc")
        #expect(signer.isValid(person) && signer.isValid(activity) && signer.isValid(manifest))
    }

    @Test("An activity report round-trips, absent counters stay absent and zero stays zero")
    func activityRoundTrip() throws {
        var report = Fixtures.activity(counters: [.jobsCollected: 0, .wageArrearsCases: 3])
        signer.sign(&report)
        let decoded = try Wire.decodeUnitActivity(try Wire.encode(report))
        #expect(decoded == report)
        #expect(decoded.counters[.recruitmentEvents] == nil && decoded.counters[.jobsCollected] == 0)
        #expect(signer.isValid(decoded))
    }

    @Test("Any change to a signed record, or another agent's key, breaks the signature")
    func tampering() {
        var record = Fixtures.person()
        signer.sign(&record)
        var changed = record
        changed.status = .unemployed
        #expect(!signer.isValid(changed))
        var moved = record
        moved.unit = DivisionCode("140403001002")!
        #expect(!signer.isValid(moved))
        #expect(!RecordSigner(secret: Array("another agent".utf8)).isValid(record))
        var unsigned = record
        unsigned.signature = []
        #expect(!signer.isValid(unsigned))
        // Absent and empty fields differ in the canonical bytes.
        var noSector = Fixtures.person()
        noSector.sector = nil
        #expect(CanonicalBytes.of(noSector) != CanonicalBytes.of(Fixtures.person()))
    }

    @Test("Garbage and impossible values are refused with a named field, not a crash")
    func malformedWire() {
        #expect(throws: ValidationReason.self) { try Wire.decodePersonStatus([0xff, 0xff, 0xff]) }
        var record = Fixtures.person()
        record.period = Period("2024-10")!
        let bytes = (try? Wire.encode(record)) ?? []
        var corrupted = bytes
        if let index = corrupted.firstIndex(of: UInt8(ascii: "2")) { corrupted[index] = UInt8(ascii: "x") }
        do {
            _ = try Wire.decodePersonStatus(corrupted)
            Issue.record("a corrupted record decoded")
        } catch {
            #expect(
                error.field == "record_id" || error.field == "unit" || error.field == "period"
                    || error.field == "payload")
        }
        #expect(throws: ValidationReason.self) { try Wire.decodePersonStatus([]) }
    }

    @Test("Resident ID numbers: check digit, birth date and sex; wrong ones refused with a reason")
    func residentIDs() throws {
        let text = Fixtures.residentID("14040319900307123")
        let id = try ResidentID(text)
        #expect(id.birthYear == 1990 && id.birthMonth == 3 && id.sex == .male)
        #expect(try ResidentID(Fixtures.residentID("14040319851231002")).sex == .female)
        // The standard's own published example, independent of the check-character code under test.
        let example = try ResidentID("11010519491231002X")
        #expect(example.birthYear == 1949 && example.sex == .female)
        #expect(ResidentID.appendingCheckCharacter(to: "11010519491231002") == "11010519491231002X")
        #expect(throws: ResidentID.Problem.checkDigitMismatch) { try ResidentID("110105194912310021") }
        #expect(throws: ResidentID.Problem.checkDigitMismatch) {
            try ResidentID(String(text.dropLast()) + (text.last == "1" ? "2" : "1"))
        }
        #expect(throws: ResidentID.Problem.wrongLength(17)) { try ResidentID(String(text.dropLast())) }
        #expect(throws: ResidentID.Problem.invalidBirthDate) {
            try ResidentID(Fixtures.residentID("14040319900230123"))
        }
        #expect(throws: ResidentID.Problem.invalidCharacter) { try ResidentID("14040319900307123A") }
        let withX = (0..<1000).lazy.map { Fixtures.residentID("140403199003071" + String(format: "%02d", $0 % 100)) }
            .first { $0.hasSuffix("X") }
        if let withX { #expect(throws: Never.self) { try ResidentID(withX.lowercased()) } }
    }

    @Test("A raw ID number appears in no output of any public path")
    func rawIDNeverLeaks() throws {
        let raw = Fixtures.residentID("14040319900307123")
        let id = try ResidentID(raw)
        let pseudonymizer = Pseudonymizer(cityKey: Array("city pseudonymization key".utf8))
        let personKey = pseudonymizer.personKey(for: id)
        #expect(personKey.count == 64)
        #expect(personKey == pseudonymizer.personKey(for: try ResidentID(raw.lowercased())), "stable for one person")
        #expect(personKey != Pseudonymizer(cityKey: Array("another key".utf8)).personKey(for: id))
        let household = try pseudonymizer.householdKey(for: raw)
        #expect(household != personKey, "persons and households are keyed apart")

        var record = Fixtures.person()
        record.personKey = personKey
        record.householdKey = household
        RecordSigner(secret: [1, 2, 3]).sign(&record)
        let wire = try Wire.encode(record)
        var outputs: [String] = [
            "\(id)", String(describing: id), String(reflecting: id), personKey, household,
            String(decoding: wire, as: UTF8.self), String(decoding: CanonicalBytes.of(record), as: UTF8.self),
            "\(record)",
        ]
        // Every way of getting an ID wrong explains itself without repeating it.
        for broken in [
            String(raw.dropLast()), raw.dropLast() + "Y", String(raw.prefix(6)) + "19900230" + String(raw.suffix(4)),
            String(raw.dropLast()) + (raw.last == "1" ? "2" : "1"),
        ] {
            do { _ = try ResidentID(broken) } catch {
                outputs += ["\(error)", error.reason.chinese, error.reason.english, String(reflecting: error)]
            }
        }
        for problem in [Pseudonymizer.HouseholdProblem.empty, .tooLong, .invalidCharacter] {
            outputs.append("\(problem)")
        }
        do { _ = try pseudonymizer.householdKey(for: raw + "!") } catch { outputs.append("\(error)") }
        let validator = RecordValidator(topology: Fixtures.topology, latestPeriod: Period("2024-11")!)
        var leaky = record
        leaky.personKey = raw
        outputs += validator.problems(with: leaky).map(\.description)
        for output in outputs {
            #expect(!output.contains(raw), "raw ID in: \(output.prefix(80))")
            #expect(!output.contains(String(raw.dropLast())), "17 digits of the ID in: \(output.prefix(80))")
        }
    }
}
