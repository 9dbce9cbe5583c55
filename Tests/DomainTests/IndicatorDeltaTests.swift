import Domain
import PropertyBased
import TestSupport
import Testing

/// The incremental indicators a processor keeps must equal the from-scratch computation, whatever order,
/// batching, replays and corrections the records arrive in.
@Suite("Incremental indicators")
struct IndicatorDeltaTests {
    static let topology = Fixtures.topology
    static let villages: [DivisionCode] = [
        IndicatorComputationTests.urbanVillage, IndicatorComputationTests.ruralVillage,
        topology.units(of: .village, under: DivisionCode("140427000000")!)[3].code,
    ]
    static let periods = Period("2024-09")!.through(Period("2024-12")!)

    /// What a processor stores, kept in dictionaries: the ledger, derived counts and the indicators.
    struct Store {
        var persons: [PersonMonthKey: PersonStatusRecord] = [:]
        var households: [HouseholdMonth: HouseholdMembers] = [:]
        var villages: [UnitMonth: VillageMonthCounts] = [:]
        var activity: [UnitMonth: UnitActivityReport] = [:]
        var indicators: [UnitMonth: IndicatorCounts] = [:]
        var monitored: Set<Period> = []
        /// `person_ledger_displaced`, as the processor keeps it.
        var displaced: [Displacement.UnitPerson: PersonStatusRecord] = [:]

        mutating func apply(
            persons batchPersons: [PersonStatusRecord], activity batchActivity: [UnitActivityReport],
            delta: IndicatorDelta
        ) {
            // The processor's plan, with dictionaries where it has PostgreSQL.
            let plan = BatchPlan(persons: batchPersons, activity: batchActivity)
            var state = BatchState()
            for key in plan.personKeys { state.persons[key] = self.persons[key] }
            // In the processor's order: what is accepted and the person counts, then the second read.
            let acceptance = plan.acceptance(stored: state.persons)
            let personCounts = plan.personCounts(of: delta, acceptance, stored: state.persons)
            let touched = plan.touched(stored: state.persons)
            for household in touched.households { state.households[household] = households[household] }
            for village in touched.villages { state.villages[village] = villages[village] }
            for key in plan.activityKeys { state.activity[key] = self.activity[key] }
            let effect = delta.effect(acceptance, personCounts: personCounts, activity: plan.activity, state: state)
            let displacement = Displacement.of(batch: batchPersons, stored: state.persons)
            for entry in displacement.restored { displaced[entry] = nil }
            for record in displacement.displaced {
                let entry = Displacement.UnitPerson(
                    unit: record.unit, key: PersonMonthKey(person: record.person, period: record.period))
                if let held = displaced[entry], !RecordVersion.isNewer(record, than: held) { continue }
                displaced[entry] = record
            }
            for record in effect.acceptedPersons {
                self.persons[PersonMonthKey(person: record.person, period: record.period)] = record
            }
            for report in effect.acceptedActivity {
                self.activity[UnitMonth(unit: report.unit, period: report.period)] = report
            }
            households.merge(effect.households) { $1 }
            villages.merge(effect.villages) { $1 }
            let opened = effect.periods.filter { !monitored.contains($0) }.sorted()
            monitored.formUnion(opened)
            let changes = BatchPlan.changes(of: effect, opened: opened, delta: delta)
            for (key, counts) in changes {
                for (id, value) in counts { indicators[key, default: [:]][id, default: 0] += value }
            }
        }

        func recomputed(topology: Topology) -> [UnitMonth: IndicatorCounts] {
            var byPeriod: [Period: [String: PersonStatusRecord]] = [:]
            for (key, record) in persons { byPeriod[key.period, default: [:]][key.personKey] = record }
            var activityByPeriod: [Period: [DivisionCode: UnitActivityReport]] = [:]
            for (key, report) in activity { activityByPeriod[key.period, default: [:]][key.unit] = report }
            let table = IndicatorComputation(topology: topology).compute(
                persons: byPeriod, activity: activityByPeriod, periods: monitored.sorted())
            var result: [UnitMonth: IndicatorCounts] = [:]
            for (period, units) in table {
                for (unit, counts) in units where counts.contains(where: { $0.value != 0 }) {
                    result[UnitMonth(unit: unit, period: period)] = counts.filter { $0.value != 0 }
                }
            }
            return result
        }

        var nonZeroIndicators: [UnitMonth: IndicatorCounts] {
            var result: [UnitMonth: IndicatorCounts] = [:]
            for (key, counts) in indicators {
                let nonZero = counts.filter { $0.value != 0 }
                if !nonZero.isEmpty { result[key] = nonZero }
            }
            return result
        }
    }

    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func randomRecord(using random: inout SplitMix) -> PersonStatusRecord {
        let status = EmploymentStatus.allCases.randomElement(using: &random)!
        var groups = Set<PersonGroup>()
        for group in [PersonGroup.hardToEmploy, .ruralLabour, .collegeGraduate] where Bool.random(using: &random) {
            groups.insert(group)
        }
        let person = ["a", "b", "c", "d", "e"].randomElement(using: &random)!
        return PersonStatusRecord(
            recordID: RecordID.random(using: &random), unit: villages.randomElement(using: &random)!,
            period: periods.randomElement(using: &random)!, personKey: String(repeating: person, count: 64),
            householdKey: String(repeating: ["1", "2", "3"].randomElement(using: &random)!, count: 64),
            birthYear: 1990, sex: .female, status: status,
            employmentForm: status == .employed ? .flexible : nil,
            workLocation: status == .employed ? WorkLocation.allCases.randomElement(using: &random)! : nil,
            registeredUnemployed: status == .unemployed && Bool.random(using: &random), groups: groups,
            assisted: Bool.random(using: &random), trained: Bool.random(using: &random),
            reportedAtMilliseconds: Int64.random(in: 0...20, using: &random), agentID: "agent")
    }

    static func randomReport(using random: inout SplitMix) -> UnitActivityReport {
        let unit = [villages[0].parent!, villages[2].ancestor(at: .county)!].randomElement(using: &random)!
        var counters: [UnitActivityReport.Counter: Int64] = [:]
        for counter in UnitActivityReport.Counter.allCases where Bool.random(using: &random) {
            counters[counter] = Int64.random(in: 0...50, using: &random)
        }
        return UnitActivityReport(
            recordID: RecordID.random(using: &random), unit: unit, period: periods.randomElement(using: &random)!,
            counters: counters.isEmpty ? [.jobsCollected: 1] : counters,
            reportedAtMilliseconds: Int64.random(in: 0...20, using: &random), agentID: "station")
    }

    @Test(
        "Any stream, in any batches, with replays and corrections, ends equal to the recomputation, and so do the records displaced by another unit's"
    )
    func incrementalEqualsRecomputation() async {
        let delta = IndicatorDelta(topology: Self.topology)
        await propertyCheck(count: 100, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SplitMix(state: UInt64(seed))
            var store = Store()
            var sent: [PersonStatusRecord] = []
            for _ in 0..<Int.random(in: 1...12, using: &random) {
                var persons = (0..<Int.random(in: 0...8, using: &random)).map { _ in Self.randomRecord(using: &random) }
                // Replays of earlier records (an agent resending after a crash).
                if !sent.isEmpty, Bool.random(using: &random) { persons.append(sent.randomElement(using: &random)!) }
                let activity = (0..<Int.random(in: 0...2, using: &random)).map { _ in Self.randomReport(using: &random)
                }
                store.apply(persons: persons, activity: activity, delta: delta)
                sent += persons
            }
            // Displaced, from scratch: per person-month, each unit's newest record where another unit's is current.
            var expected: [Displacement.UnitPerson: PersonStatusRecord] = [:]
            let byKey = Dictionary(grouping: sent) { PersonMonthKey(person: $0.person, period: $0.period) }
            for (key, records) in byKey {
                guard let winner = records.max(by: { RecordVersion.isNewer($1, than: $0) }) else { continue }
                for record in records where record.unit != winner.unit {
                    let entry = Displacement.UnitPerson(unit: record.unit, key: key)
                    if let held = expected[entry], !RecordVersion.isNewer(record, than: held) { continue }
                    expected[entry] = record
                }
            }
            #expect(
                store.displaced.mapValues(\.recordID) == expected.mapValues(\.recordID),
                "displaced: kept \(store.displaced.count), expected \(expected.count)")
            let kept = store.nonZeroIndicators
            let recomputed = store.recomputed(topology: Self.topology)
            let differing = Set(kept.keys).union(recomputed.keys).filter { kept[$0] != recomputed[$0] }.sorted()
            #expect(
                differing.isEmpty,
                "\(differing.prefix(5).map { "\($0.period) \($0.unit): kept \(kept[$0] ?? [:]), recomputed \(recomputed[$0] ?? [:])" })"
            )
        }
    }

    @Test("A late October after November, and a corrected October, give November's re-employment")
    func lateAndCorrectedMonth() throws {
        let delta = IndicatorDelta(topology: Self.topology)
        let village = IndicatorComputationTests.urbanVillage
        var store = Store()
        var november = IndicatorComputationTests.record("a", "1", village, "2024-11", .employed)
        november.reportedAtMilliseconds = 10
        store.apply(persons: [november], activity: [], delta: delta)
        let key = UnitMonth(unit: village, period: Period("2024-11")!)
        #expect(store.indicators[key]?[.reemployed, default: 0] == 0)

        var october = IndicatorComputationTests.record("a", "1", village, "2024-10", .unemployed, registered: true)
        october.reportedAtMilliseconds = 20
        store.apply(persons: [october], activity: [], delta: delta)
        #expect(store.indicators[key]?[.reemployed] == 1)
        #expect(store.indicators[key]?[.unemployedLastMonth] == 1)
        #expect(
            store.indicators[UnitMonth(unit: DivisionCode("140400000000")!, period: Period("2024-11")!)]?[.reemployed]
                == 1)

        // The village corrects October: the person was not registered after all.
        var corrected = IndicatorComputationTests.record("a", "1", village, "2024-10", .unemployed)
        corrected.reportedAtMilliseconds = 30
        store.apply(persons: [corrected], activity: [], delta: delta)
        #expect(store.indicators[key]?[.reemployed, default: 0] == 0)
        #expect(store.indicators[key]?[.unemployedLastMonth, default: 0] == 0)
        #expect(store.indicators[key]?[.newEmployment] == 1)

        // The stale registered version arriving again changes nothing.
        store.apply(persons: [october], activity: [], delta: delta)
        #expect(store.indicators[key]?[.reemployed, default: 0] == 0)
        #expect(store.nonZeroIndicators == store.recomputed(topology: Self.topology))
    }

    /// The plan the processor follows, without services: what it reads, and what it adds for a month it opens.
    @Test("A batch plan keeps the newest record per person-month, reads the months either side, and opens months")
    func batchPlan() throws {
        let village = IndicatorComputationTests.urbanVillage
        var first = IndicatorComputationTests.record("a", "1", village, "2024-10", .employed)
        first.reportedAtMilliseconds = 10
        var newer = IndicatorComputationTests.record("a", "1", village, "2024-10", .unemployed, registered: true)
        newer.reportedAtMilliseconds = 20
        let other = IndicatorComputationTests.record("b", "2", village, "2024-11", .employed)
        let plan = BatchPlan(persons: [newer, first, other], activity: [])
        #expect(plan.droppedWithinBatch == 1)
        #expect(
            plan.persons.count == 2
                && plan.persons.contains { $0.personKey == newer.personKey && $0.status == .unemployed })
        #expect(plan.personMonths == [Period("2024-10")!, Period("2024-11")!])
        let months = { (person: String) in
            Set(plan.personKeys.filter { $0.personKey == person }.map(\.period.description))
        }
        #expect(months(newer.personKey) == ["2024-09", "2024-10", "2024-11"])
        #expect(months(other.personKey) == ["2024-10", "2024-11", "2024-12"])
        let delta = IndicatorDelta(topology: Self.topology)
        let effect = delta.effectInOneCall(persons: plan.persons, activity: plan.activity, state: BatchState())
        #expect(effect.acceptedPersons.count == 2)
        let opened = BatchPlan.changes(of: effect, opened: [Period("2024-11")!], delta: delta)
        let notOpened = BatchPlan.changes(of: effect, opened: [], delta: delta)
        let city = DivisionCode("140400000000")!
        let villages = Int64(Self.topology.allDivisions.count { $0.tier == .village })
        #expect(opened[UnitMonth(unit: city, period: Period("2024-11")!)]?[.expectedUnits] == villages)
        #expect(notOpened[UnitMonth(unit: city, period: Period("2024-11")!)]?[.expectedUnits, default: 0] == 0)
    }
}

extension IndicatorDelta {
    /// A batch's three steps (`acceptance`, `personCounts`, `effect`) in the processor's order, for tests that need
    /// only the result.
    func effectInOneCall(persons: [PersonStatusRecord], activity: [UnitActivityReport], state: BatchState)
        -> BatchEffect
    {
        let acceptance = Self.acceptance(of: persons, stored: state.persons)
        return effect(
            acceptance, personCounts: personCounts(acceptance, stored: state.persons), activity: activity, state: state)
    }
}
