import Domain
import TestSupport
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
            employmentForm: status == .employed ? .employee : nil,
            workLocation: status == .employed ? (location ?? .local) : nil,
            registeredUnemployed: registered, groups: groups, assisted: assisted, reportedAtMilliseconds: 0,
            agentID: "a")
    }

    @Test("A hand-worked month: transitions across months and villages, households, assistance, roll-up")
    func handWorked() throws {
        let september = [
            Self.record("a", "1", Self.urbanVillage, "2024-09", .unemployed, registered: true, groups: [.hardToEmploy]),
            Self.record(
                "b", "2", Self.ruralVillage, "2024-09", .employed, location: .outOfProvince, groups: [.ruralLabour]),
        ]
        let october = [
            // A: registered unemployed in September, employed now: new (urban) employment and re-employment.
            Self.record("a", "1", Self.urbanVillage, "2024-10", .employed, groups: [.hardToEmploy]),
            // B moved from the rural village to the urban one and kept working: not new employment.
            Self.record("b", "2", Self.urbanVillage, "2024-10", .employed, location: .local, groups: [.ruralLabour]),
            // C: alone in a household with no one employed.
            Self.record("c", "3", Self.ruralVillage, "2024-10", .unemployed),
            // D: registered unemployed graduate, assisted this month.
            Self.record(
                "d", "4", Self.urbanVillage, "2024-10", .unemployed, registered: true, groups: [.collegeGraduate],
                assisted: true),
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
        #expect(urban[.labourForce] == 3 && urban[.employed] == 2 && urban[.unemployed] == 1)
        #expect(urban[.registeredUnemployed] == 1)
        #expect(urban[.newEmployment] == 1 && urban[.newUrbanEmployment] == 1)
        #expect(urban[.reemployed] == 1 && urban[.hardToEmployReemployed] == 1)
        #expect(urban[.unemployedLastMonth] == 1)
        #expect(urban[.ruralLabourEmployed] == 1 && urban[.ruralLabourEmployedLocal] == 1)
        #expect(urban[.zeroEmploymentHouseholds] == 1)
        #expect(urban[.assistanceTarget] == 1 && urban[.assisted] == 1)
        #expect(urban[.collegeGraduates] == 1 && urban[.collegeGraduatesEmployed] == nil)
        #expect(urban[.reportingUnits] == 1 && urban[.expectedUnits] == 1)

        let rural = try #require(month[Self.ruralVillage])
        #expect(rural[.labourForce] == 1 && rural[.unemployed] == 1 && rural[.zeroEmploymentHouseholds] == 1)
        #expect(rural[.newEmployment] == nil && rural[.unemployedLastMonth] == nil)

        let city = try #require(month[Fixtures.topology.city.code])
        #expect(city[.labourForce] == 4 && city[.employed] == 2 && city[.unemployed] == 2)
        #expect(
            city[.zeroEmploymentHouseholds] == 2 && city[.reportingUnits] == 2 && city[.expectedUnits] == 2628)
        #expect(city[.reemployed] == 1 && city[.unemployedLastMonth] == 1, "placement rate 1/1")
        #expect(city[.jobsCollected] == 40 && month[township]?[.jobsCollected] == 40)
        #expect(month[Self.urbanVillage]?[.jobsCollected] == nil, "activity counts at its station and above")
        let county = try #require(month[DivisionCode("140404000000")!])
        #expect(
            county[.expectedUnits]
                == Int64(Fixtures.topology.expectedReportingUnits(under: DivisionCode("140404000000")!).count))
        #expect(month.count == 2790, "every unit of every tier has an entry")
    }

    /// The new-entrant rule, in both forms: a person with no record in the month before counts as new
    /// employment when their village reported in the month before, and a late report of that month makes them count.
    @Test("New entrants count when their village reported the month before, in both forms")
    func newEntrants() throws {
        let september = Period("2024-09")!
        let october = Period("2024-10")!
        let otherRural = Fixtures.topology.units(of: .village, under: DivisionCode("140404000000")!)
            .filter { !$0.isUrban }[1].code
        // The urban village reported in September (A); E is new to the ledger in October and employed: new
        // employment there. F is new and employed in a rural village that did not report in September: unknown,
        // not counted. G is new and unemployed: never new employment.
        let a09 = Self.record("a", "1", Self.urbanVillage, "2024-09", .unemployed)
        let e10 = Self.record("e", "5", Self.urbanVillage, "2024-10", .employed)
        let f10 = Self.record("f", "6", otherRural, "2024-10", .employed)
        let g10 = Self.record("g", "7", Self.urbanVillage, "2024-10", .unemployed)
        let computation = IndicatorComputation(topology: Fixtures.topology)
        func fromScratch(_ records: [PersonStatusRecord]) -> [DivisionCode: IndicatorCounts] {
            var byPeriod: [Period: [String: PersonStatusRecord]] = [:]
            for record in records { byPeriod[record.period, default: [:]][record.personKey] = record }
            return computation.compute(persons: byPeriod, activity: [:], periods: [october])[october] ?? [:]
        }
        let month = fromScratch([a09, e10, f10, g10])
        #expect(
            month[Self.urbanVillage]?[.newEmployment] == 1 && month[Self.urbanVillage]?[.newUrbanEmployment] == 1)
        #expect(month[otherRural]?[.newEmployment] == nil, "its village had not reported September")
        #expect(month[Fixtures.topology.city.code]?[.newEmployment] == 1)

        // The rural village's September arrives late, from another person: F now counts, in the rural village.
        let h09 = Self.record("h", "8", otherRural, "2024-09", .notInLabourForce)
        let after = fromScratch([a09, e10, f10, g10, h09])
        #expect(after[otherRural]?[.newEmployment] == 1 && after[otherRural]?[.newUrbanEmployment] == nil)
        #expect(after[Fixtures.topology.city.code]?[.newEmployment] == 2)

        // The incremental form: October first, then the late September in its own batch.
        let delta = IndicatorDelta(topology: Fixtures.topology)
        let first = delta.effectInOneCall(persons: [a09, e10, f10, g10], activity: [], state: BatchState())
        let cityOctober = UnitMonth(unit: Fixtures.topology.city.code, period: october)
        #expect(first.indicatorChanges[cityOctober]?[.newEmployment] == 1)
        #expect(
            first.villages[UnitMonth(unit: otherRural, period: october)]
                == VillageMonthCounts(persons: 1, employedNewToLedger: 1))
        var state = BatchState()
        let touched = IndicatorDelta.householdsTouched(by: [h09], stored: [:])
        for village in touched.villages { state.villages[village] = first.villages[village] }
        #expect(
            touched.villages.contains(UnitMonth(unit: otherRural, period: october)),
            "the late month reads the next month's entrants")
        let second = delta.effectInOneCall(persons: [h09], activity: [], state: state)
        #expect(second.indicatorChanges[UnitMonth(unit: otherRural, period: october)]?[.newEmployment] == 1)
        #expect(second.indicatorChanges[cityOctober]?[.newEmployment] == 1)
        #expect(second.indicatorChanges[UnitMonth(unit: otherRural, period: september)]?[.reportingUnits] == 1)
    }
}
