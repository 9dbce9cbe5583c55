import Domain
import Testing

@Suite("Indicators computed from scratch")
struct IndicatorComputationTests {
    static let urbanVillage = DivisionCode("140403001001")!  // 和平社区居委会, 潞州区
    static let ruralVillage = Fixtures.topology.units(of: .village, under: DivisionCode("140404000000")!)
        .first { !$0.isUrban }!.code

    static func record(
        _ person: String, _ household: String, _ unit: DivisionCode, _ period: String, _ status: EmploymentStatus,
        registered: Bool = false, location: WorkLocation? = nil, groups: Set<PersonGroup> = [], assisted: Bool = false
    ) -> PersonStatusRecord {
        PersonStatusRecord(
            recordID: .random(), unit: unit, period: Period(period)!, personKey: String(repeating: person, count: 64),
            householdKey: String(repeating: household, count: 64), birthYear: 1990, sex: .male, status: status,
            employmentForm: status == .employed ? .employee : nil, workLocation: status == .employed ? (location ?? .local) : nil,
            registeredUnemployed: registered, groups: groups, assisted: assisted, reportedAtMilliseconds: 0, agentID: "a")
    }

    @Test("A hand-worked month: transitions across months and villages, households, assistance, roll-up")
    func handWorked() throws {
        let september = [
            Self.record("a", "1", Self.urbanVillage, "2024-09", .unemployed, registered: true, groups: [.hardToEmploy]),
            Self.record("b", "2", Self.ruralVillage, "2024-09", .employed, location: .outOfProvince, groups: [.ruralLabour]),
        ]
        let october = [
            // A: registered unemployed in September, employed now: new (urban) employment and re-employment.
            Self.record("a", "1", Self.urbanVillage, "2024-10", .employed, groups: [.hardToEmploy]),
            // B moved from the rural village to the urban one and kept working: not new employment.
            Self.record("b", "2", Self.urbanVillage, "2024-10", .employed, location: .local, groups: [.ruralLabour]),
            // C: alone in a household with no one employed.
            Self.record("c", "3", Self.ruralVillage, "2024-10", .unemployed),
            // D: registered unemployed graduate, assisted this month.
            Self.record("d", "4", Self.urbanVillage, "2024-10", .unemployed, registered: true, groups: [.collegeGraduate], assisted: true),
        ]
        let byPeriod: [Period: [String: PersonStatusRecord]] = [
            Period("2024-09")!: Dictionary(uniqueKeysWithValues: september.map { ($0.personKey, $0) }),
            Period("2024-10")!: Dictionary(uniqueKeysWithValues: october.map { ($0.personKey, $0) }),
        ]
        let township = Self.urbanVillage.parent!
        let report = UnitActivityReport(
            recordID: .random(), unit: township, period: Period("2024-10")!, counters: [.jobsCollected: 40],
            reportedAtMilliseconds: 0, agentID: "t")
        let table = IndicatorComputation(topology: Fixtures.topology).compute(
            persons: byPeriod, activity: [Period("2024-10")!: [township: report]], periods: [Period("2024-10")!])
        let month = try #require(table[Period("2024-10")!])

        let urban = try #require(month[Self.urbanVillage])
        #expect(urban["labour_force"] == 3 && urban["employed"] == 2 && urban["unemployed"] == 1)
        #expect(urban["registered_unemployed"] == 1)
        #expect(urban["new_employment"] == 1 && urban["new_urban_employment"] == 1)
        #expect(urban["reemployed"] == 1 && urban["hard_to_employ_reemployed"] == 1)
        #expect(urban["unemployed_last_month"] == 1)
        #expect(urban["rural_labour_employed"] == 1 && urban["rural_labour_employed_local"] == 1)
        #expect(urban["zero_employment_households"] == 1)
        #expect(urban["assistance_target"] == 1 && urban["assisted"] == 1)
        #expect(urban["college_graduates"] == 1 && urban["college_graduates_employed"] == nil)
        #expect(urban["reporting_units"] == 1 && urban["expected_units"] == 1)

        let rural = try #require(month[Self.ruralVillage])
        #expect(rural["labour_force"] == 1 && rural["unemployed"] == 1 && rural["zero_employment_households"] == 1)
        #expect(rural["new_employment"] == nil && rural["unemployed_last_month"] == nil)

        let city = try #require(month[Fixtures.topology.city.code])
        #expect(city["labour_force"] == 4 && city["employed"] == 2 && city["unemployed"] == 2)
        #expect(city["zero_employment_households"] == 2 && city["reporting_units"] == 2 && city["expected_units"] == 2628)
        #expect(city["reemployed"] == 1 && city["unemployed_last_month"] == 1, "placement rate 1/1")
        #expect(city["jobs_collected"] == 40 && month[township]?["jobs_collected"] == 40)
        #expect(month[Self.urbanVillage]?["jobs_collected"] == nil, "activity counts at its station and above")
        let county = try #require(month[DivisionCode("140404000000")!])
        #expect(county["expected_units"] == Int64(Fixtures.topology.expectedReportingUnits(under: DivisionCode("140404000000")!).count))
        #expect(month.count == 2790, "every unit of every tier has an entry")
    }
}
