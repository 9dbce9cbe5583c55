import Domain
import TestSupport
import Testing

@Suite("Validation: every reason, with a message a clerk can read")
struct ValidationTests {
    let validator = RecordValidator(topology: Fixtures.topology, latestPeriod: Period("2024-11")!)

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let expected: ValidationReason.Code
        let record: PersonStatusRecord
        var testDescription: String { name }
    }

    static let personCases: [Case] = {
        var cases: [Case] = []
        func add(_ name: String, _ code: ValidationReason.Code, _ change: (inout PersonStatusRecord) -> Void) {
            var record = Fixtures.person()
            change(&record)
            cases.append(Case(name: name, expected: code, record: record))
        }
        add("unknown unit", .unknownUnit) { $0.unit = DivisionCode("140403999999")! }
        add("township instead of village", .wrongUnitTier) { $0.unit = Fixtures.township }
        add("period in the future", .periodInFuture) { $0.period = Period("2024-12")! }
        add("period before 2020", .periodTooEarly) { $0.period = Period("2019-12")! }
        add("malformed person key", .malformedPersonKey) { $0.personKey = "110101199003071234" }
        add("malformed household key", .malformedHouseholdKey) { $0.householdKey = "ABC" }
        add("birth year too early", .birthYearOutOfRange) { $0.birthYear = 1930 }
        add("birth year too late", .birthYearOutOfRange) { $0.birthYear = 2015 }
        add("employed without form", .formMissing) { $0.employmentForm = nil }
        add("employed without location", .locationMissing) { $0.workLocation = nil }
        add("employed and registered unemployed", .registeredWhileEmployed) { $0.registeredUnemployed = true }
        add("form for an unemployed person", .formWithoutEmployment) {
            $0.status = .unemployed
            $0.workLocation = nil
            $0.sector = nil
            $0.incomeBand = nil
        }
        add("location for an unemployed person", .locationWithoutEmployment) {
            $0.status = .unemployed
            $0.employmentForm = nil
            $0.sector = nil
            $0.incomeBand = nil
        }
        add("sector for an unemployed person", .sectorWithoutEmployment) {
            $0.status = .unemployed
            $0.employmentForm = nil
            $0.workLocation = nil
            $0.incomeBand = nil
        }
        add("income for an unemployed person", .incomeWithoutEmployment) {
            $0.status = .unemployed
            $0.employmentForm = nil
            $0.workLocation = nil
            $0.sector = nil
        }
        add("seeking work outside the labour force", .seekingOutsideLabourForce) {
            $0.status = .notInLabourForce
            $0.employmentForm = nil
            $0.workLocation = nil
            $0.sector = nil
            $0.incomeBand = nil
            $0.seekingWork = true
        }
        add("no agent", .missingAgent) { $0.agentID = "" }
        add("unsupported schema", .unsupportedSchema) { $0.schemaVersion = 9 }
        return cases
    }()

    @Test("A good person record has no problems")
    func goodRecord() {
        #expect(validator.problems(with: Fixtures.person()).isEmpty)
        var unemployed = Fixtures.person(status: .unemployed, form: nil, location: nil, sector: nil)
        unemployed.registeredUnemployed = true
        unemployed.seekingWork = true
        #expect(validator.problems(with: unemployed).isEmpty)
    }

    @Test("Each broken person record is refused with exactly its reason", arguments: personCases)
    func personReason(_ testCase: Case) throws {
        let problems = validator.problems(with: testCase.record)
        #expect(problems.map(\.code) == [testCase.expected])
        let reason = try #require(problems.first)
        #expect(!reason.field.isEmpty)
        #expect(reason.chinese.unicodeScalars.contains { $0.value >= 0x4E00 && $0.value <= 0x9FFF }, "Chinese message")
        #expect(!reason.english.isEmpty)
    }

    @Test("Activity reports: good, negative, implausible, empty, wrong tier, unknown unit")
    func activityReasons() {
        #expect(validator.problems(with: Fixtures.activity()).isEmpty)
        #expect(
            validator.problems(with: Fixtures.activity(counters: [.jobsCollected: -1])).map(\.code) == [
                .negativeCounter
            ])
        #expect(
            validator.problems(with: Fixtures.activity(counters: [.gigMarketServices: 5_000_000])).map(\.code) == [
                .implausibleCounter
            ])
        #expect(validator.problems(with: Fixtures.activity(counters: [:])).map(\.code) == [.emptyReport])
        var atVillage = Fixtures.activity()
        atVillage.unit = Fixtures.village
        #expect(validator.problems(with: atVillage).map(\.code) == [.wrongUnitTier])
        var nowhere = Fixtures.activity()
        nowhere.unit = DivisionCode("140499000000")!
        #expect(validator.problems(with: nowhere).map(\.code) == [.unknownUnit])
    }

    @Test("Sectors: GB/T 4754 sections A–T in either case; anything else refused")
    func sectors() throws {
        #expect(try RecordValidator.sector("c").get() == .c)
        #expect(Sector.allCases.count == 20)
        guard case .failure(let reason) = RecordValidator.sector("Z") else {
            Issue.record("Z is not a section")
            return
        }
        #expect(reason.code == .unknownSector)
    }
}
