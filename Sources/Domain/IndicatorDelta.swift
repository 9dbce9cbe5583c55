/// The incremental form of `IndicatorComputation`: what a batch of records changes in the stored
/// indicators. Applying the effects of any sequence of batches to empty indicators gives exactly what
/// `IndicatorComputation` computes from the final ledger (tests hold it to that).
///
/// Every count except zero-employment households and reporting units is a sum over "slots" (person k,
/// month Q) of a contribution that depends only on k's records for Q−1 and Q: the record's own counts and
/// transitions at the month-Q unit, and "unemployed last month" at the month-(Q−1) unit. A new record for
/// (k, P) changes the slots (k, P) and (k, P+1) — so late months and corrections reach the next month —
/// and the change is the contribution after minus the contribution before. Zero-employment households
/// and reporting units are not sums over persons; they come from member counts kept per household and
/// per village. Nor is the new employment of persons new to the ledger (no record in Q−1): it depends on
/// whether their village reported in Q−1, so it is kept per village and month (`VillageMonthCounts`), and
/// a village's first record of Q−1 adds that village's count for Q.
package struct IndicatorDelta: Sendable {
    package let topology: Topology

    package init(topology: Topology) { self.topology = topology }

    /// Of the records of a batch, the newest per person and month (a batch may carry several versions).
    package static func newestPerKey(_ records: [PersonStatusRecord]) -> (newest: [PersonStatusRecord], dropped: Int) {
        // Positions, not records: each record is copied once, into the result.
        var newest: [PersonMonthKey: Int] = [:]
        newest.reserveCapacity(records.count)
        for (index, record) in records.enumerated() {
            let key = PersonMonthKey(person: record.person, period: record.period)
            if let held = newest[key], !RecordVersion.isNewer(record, than: records[held]) { continue }
            newest[key] = index
        }
        let order = newest.map { (key: $0.key, index: $0.value) }.sorted { $0.key < $1.key }
        return (order.map { records[$0.index] }, records.count - newest.count)
    }

    package static func newestPerKey(_ reports: [UnitActivityReport]) -> (newest: [UnitActivityReport], dropped: Int) {
        var newest: [UnitMonth: UnitActivityReport] = [:]
        for report in reports {
            let key = UnitMonth(unit: report.unit, period: report.period)
            if let held = newest[key], !RecordVersion.isNewer(report, than: held) { continue }
            newest[key] = report
        }
        return (
            newest.values.sorted {
                UnitMonth(unit: $0.unit, period: $0.period) < UnitMonth(unit: $1.unit, period: $1.period)
            },
            reports.count - newest.count
        )
    }

    /// The stored person records the effect of `records` depends on: each person's months P−1, P, P+1.
    package static func neighbourKeys(of records: [PersonStatusRecord]) -> Set<PersonMonthKey> {
        var keys = Set<PersonMonthKey>(minimumCapacity: records.count * 3)
        for record in records {
            keys.insert(PersonMonthKey(person: record.person, period: record.period.previous))
            keys.insert(PersonMonthKey(person: record.person, period: record.period))
            keys.insert(PersonMonthKey(person: record.person, period: record.period.next))
        }
        return keys
    }

    /// Households and villages whose stored counts the effect depends on, given the stored records
    /// (`neighbourKeys`). Villages: those of every record version of the batch's persons in P and P+1,
    /// each with the months on either side (a village's report of one month decides its new entrants' count
    /// in the next).
    package static func householdsTouched(
        by records: [PersonStatusRecord], stored: [PersonMonthKey: PersonStatusRecord]
    )
        -> (households: Set<HouseholdMonth>, villages: Set<UnitMonth>)
    {
        var households = Set<HouseholdMonth>(minimumCapacity: records.count)
        // The (village, month) of every version first: a batch's ~20,000 records fall in a few thousand of them,
        // and each is widened to the months on either side once, not once per record.
        var versionMonths = Set<UnitMonth>()
        for record in records {
            households.insert(
                HouseholdMonth(unit: record.unit, period: record.period, householdKey: record.householdKey))
            versionMonths.insert(UnitMonth(unit: record.unit, period: record.period))
            if let replaced = stored[PersonMonthKey(person: record.person, period: record.period)] {
                households.insert(
                    HouseholdMonth(unit: replaced.unit, period: replaced.period, householdKey: replaced.householdKey))
                versionMonths.insert(UnitMonth(unit: replaced.unit, period: replaced.period))
            }
            if let next = stored[PersonMonthKey(person: record.person, period: record.period.next)] {
                versionMonths.insert(UnitMonth(unit: next.unit, period: next.period))
            }
        }
        var villages = Set<UnitMonth>(minimumCapacity: versionMonths.count * 3)
        for month in versionMonths {
            villages.insert(UnitMonth(unit: month.unit, period: month.period.previous))
            villages.insert(month)
            villages.insert(UnitMonth(unit: month.unit, period: month.period.next))
        }
        return (households, villages)
    }

    /// Which of the batch's newest records beat the stored ones: the first of the three steps of a batch's effect
    /// (`acceptance`, `personCounts`, `effect`), and all that the
    /// ledger's rows depend on, so the processor writes them while the counts are being computed.
    package static func acceptance(of persons: [PersonStatusRecord], stored: [PersonMonthKey: PersonStatusRecord])
        -> PersonAcceptance
    {
        var acceptance = PersonAcceptance()
        for record in persons {
            let key = PersonMonthKey(person: record.person, period: record.period)
            if let stored = stored[key], !RecordVersion.isNewer(record, than: stored) {
                acceptance.ignored += 1
                continue
            }
            if let stored = stored[key] { acceptance.superseded.append(stored) }
            acceptance.accepted.append(record)
        }
        return acceptance
    }

    /// The second step, the costly one: every changed person slot's contribution taken out as
    /// stored and put back as accepted, and the new entrants that moves. It reads the stored persons only (no
    /// household or village row), so the processor runs it while PostgreSQL reads those and writes the ledger.
    package func personCounts(_ acceptance: PersonAcceptance, stored: [PersonMonthKey: PersonStatusRecord])
        -> PersonCountChanges
    {
        // The batch's accepted records over the stored ones (an overlay: copying the stored map costs more).
        var accepted: [PersonMonthKey: PersonStatusRecord] = [:]
        accepted.reserveCapacity(acceptance.accepted.count)
        var changedSlots = Set<PersonMonthKey>(minimumCapacity: acceptance.accepted.count * 2)
        for record in acceptance.accepted {
            let key = PersonMonthKey(person: record.person, period: record.period)
            accepted[key] = record
            changedSlots.insert(key)
            changedSlots.insert(PersonMonthKey(person: record.person, period: record.period.next))
        }
        var tallies: [UnitMonth: PersonTally] = [:]
        var changes = PersonCountChanges()
        for slot in changedSlots {
            // Each key is looked up once: a person key is 64 characters, and hashing it was most of this loop.
            let previousKey = PersonMonthKey(person: slot.person, period: slot.period.previous)
            let storedPrevious = stored[previousKey]
            let storedCurrent = stored[slot]
            let afterPrevious = accepted[previousKey] ?? storedPrevious
            let afterCurrent = accepted[slot] ?? storedCurrent
            visitContribution(previous: storedPrevious, current: storedCurrent, period: slot.period) {
                tallies[$0, default: PersonTally()].values[$1.rawValue] -= 1
            }
            visitContribution(previous: afterPrevious, current: afterCurrent, period: slot.period) {
                tallies[$0, default: PersonTally()].values[$1.rawValue] += 1
            }
            if let entrant = Self.employedNewToLedger(previous: storedPrevious, current: storedCurrent) {
                changes.employedNewToLedger[UnitMonth(unit: entrant.unit, period: slot.period), default: 0] -= 1
            }
            if let entrant = Self.employedNewToLedger(previous: afterPrevious, current: afterCurrent) {
                changes.employedNewToLedger[UnitMonth(unit: entrant.unit, period: slot.period), default: 0] += 1
            }
        }
        for (unitMonth, tally) in tallies {
            let counts = tally.counts
            if !counts.isEmpty { changes.own[unitMonth] = counts }
        }
        return changes
    }

    /// What a batch changes: the last step, once the households, villages and activity reports are read (household
    /// and village counts, reporting units, new employment, activity, and the roll-up to every ancestor), from the
    /// two steps before. The one definition of a batch's effect; the processor and the property test both call it.
    package func effect(
        _ acceptance: PersonAcceptance, personCounts: PersonCountChanges, activity: [UnitActivityReport],
        state: BatchState
    ) -> BatchEffect {
        var effect = BatchEffect()
        effect.acceptedPersons = acceptance.accepted
        effect.supersededPersons = acceptance.superseded
        effect.ignoredPersons = acceptance.ignored
        var own = personCounts.own
        func add(_ counts: IndicatorCounts, at unitMonth: UnitMonth, sign: Int64) {
            for (id, value) in counts where value != 0 { own[unitMonth, default: [:]][id, default: 0] += sign * value }
        }
        var villages = state.villages
        for (village, change) in personCounts.employedNewToLedger where change != 0 {
            villages[village, default: VillageMonthCounts()].employedNewToLedger += change
        }

        // Household and village counts: remove the superseded version, add the accepted one.
        var households = state.households
        for (record, sign) in effect.supersededPersons.map({ ($0, -1) }) + effect.acceptedPersons.map({ ($0, 1) }) {
            let household = HouseholdMonth(unit: record.unit, period: record.period, householdKey: record.householdKey)
            var members = households[household] ?? HouseholdMembers()
            if record.status != .notInLabourForce { members.inLabourForce += sign }
            if record.status == .employed { members.employed += sign }
            households[household] = members
            villages[UnitMonth(unit: record.unit, period: record.period), default: VillageMonthCounts()].persons += sign
        }
        for (household, members) in households where members != (state.households[household] ?? HouseholdMembers()) {
            effect.households[household] = members
            let before = (state.households[household] ?? HouseholdMembers()).isZeroEmployment
            if before != members.isZeroEmployment {
                add(
                    [.zeroEmploymentHouseholds: 1], at: UnitMonth(unit: household.unit, period: household.period),
                    sign: members.isZeroEmployment ? 1 : -1)
            }
        }
        // New entrants count at their village-month when the village reported the month before: a change of either
        // side changes the village's new employment.
        var entrantsToRecount = Set<UnitMonth>()
        for (village, counts) in villages where counts != (state.villages[village] ?? VillageMonthCounts()) {
            effect.villages[village] = counts
            let before = state.villages[village]?.hasReported ?? false
            if before != counts.hasReported {
                add([.reportingUnits: 1], at: village, sign: counts.hasReported ? 1 : -1)
                entrantsToRecount.insert(UnitMonth(unit: village.unit, period: village.period.next))
            }
            if counts.employedNewToLedger != (state.villages[village]?.employedNewToLedger ?? 0) {
                entrantsToRecount.insert(village)
            }
        }
        for village in entrantsToRecount {
            func newEmployment(_ counts: [UnitMonth: VillageMonthCounts]) -> Int64 {
                let reportedBefore =
                    counts[UnitMonth(unit: village.unit, period: village.period.previous)]?.hasReported ?? false
                return reportedBefore ? Int64(counts[village]?.employedNewToLedger ?? 0) : 0
            }
            let change = newEmployment(villages) - newEmployment(state.villages)
            guard change != 0 else { continue }
            var counts: IndicatorCounts = [.newEmployment: change]
            if topology[village.unit]?.isUrban == true { counts[.newUrbanEmployment] = change }
            add(counts, at: village, sign: 1)
        }

        for report in activity {
            let key = UnitMonth(unit: report.unit, period: report.period)
            if let stored = state.activity[key] {
                guard RecordVersion.isNewer(report, than: stored) else {
                    effect.ignoredActivity += 1
                    continue
                }
                add(Self.counts(of: stored), at: key, sign: -1)
            }
            effect.acceptedActivity.append(report)
            add(Self.counts(of: report), at: key, sign: 1)
        }

        effect.periods = Set(effect.acceptedPersons.map(\.period) + effect.acceptedActivity.map(\.period))
        effect.indicatorChanges = rollUp(own)
        effect.periods.formUnion(effect.indicatorChanges.keys.map(\.period))
        return effect
    }

    /// The changes that start monitoring a month: every unit's number of expected reporting villages.
    package func expectedUnits(for period: Period) -> [UnitMonth: IndicatorCounts] {
        var own: [UnitMonth: IndicatorCounts] = [:]
        for village in topology.allDivisions where village.tier == .village {
            own[UnitMonth(unit: village.code, period: period), default: [:]][.expectedUnits, default: 0] += 1
        }
        return rollUp(own)
    }

    /// The person of a slot when they are employed in it and have no record in the month before: a new entrant,
    /// whose new employment depends on their village (`VillageMonthCounts`), not on their own records.
    static func employedNewToLedger(previous: PersonStatusRecord?, current: PersonStatusRecord?) -> PersonStatusRecord?
    {
        guard previous == nil, let current, current.status == .employed else { return nil }
        return current
    }

    /// The contribution of the slot (person, `period`) given the person's records for the month before and the
    /// month itself (see the type's comment), the one definition of it: calls `count` once for each unit a count
    /// of the slot adds to. The processor sums these into `PersonTally` arrays: dictionaries keyed by indicator names cost it a
    /// sixth of its time per batch.
    func visitContribution(
        previous: PersonStatusRecord?, current: PersonStatusRecord?, period: Period,
        _ count: (UnitMonth, PersonCount) -> Void
    ) {
        if let previous, previous.registeredUnemployed {
            count(UnitMonth(unit: previous.unit, period: period), .unemployedLastMonth)
        }
        guard let record = current else { return }
        let unitMonth = UnitMonth(unit: record.unit, period: period)
        func add(_ id: PersonCount) { count(unitMonth, id) }
        let employed = record.status == .employed
        let inLabourForce = record.status != .notInLabourForce
        let hardToEmploy = record.groups.contains(.hardToEmploy)
        let urban = topology[record.unit]?.isUrban == true
        if inLabourForce { add(.labourForce) }
        if inLabourForce, urban { add(.urbanLabourForce) }
        if record.registeredUnemployed, urban { add(.urbanRegisteredUnemployed) }
        if employed { add(.employed) }
        if record.status == .unemployed { add(.unemployed) }
        if record.registeredUnemployed { add(.registeredUnemployed) }
        if record.trained { add(.trained) }
        if let previous, employed {
            if previous.status != .employed {
                add(.newEmployment)
                if urban { add(.newUrbanEmployment) }
            }
            if previous.registeredUnemployed {
                add(.reemployed)
                if hardToEmploy { add(.hardToEmployReemployed) }
            }
        }
        if employed, record.groups.contains(.ruralLabour) {
            add(.ruralLabourEmployed)
            switch record.workLocation {
            case .local: add(.ruralLabourEmployedLocal)
            case .inProvince: add(.ruralLabourEmployedInProvince)
            case .outOfProvince: add(.ruralLabourEmployedOutOfProvince)
            case nil: break
            }
        }
        if record.registeredUnemployed || (hardToEmploy && !employed) {
            add(.assistanceTarget)
            if record.assisted { add(.assisted) }
        }
        if record.groups.contains(.collegeGraduate), inLabourForce {
            add(.collegeGraduates)
            if employed { add(.collegeGraduatesEmployed) }
        }
    }

    static func counts(of report: UnitActivityReport) -> IndicatorCounts {
        var counts: IndicatorCounts = [:]
        for (counter, value) in report.counters { counts[IndicatorID(rawValue: counter.rawValue), default: 0] += value }
        return counts
    }

    /// Adds every unit's own changes into its ancestors and drops what cancelled out.
    package func rollUp(_ own: [UnitMonth: IndicatorCounts]) -> [UnitMonth: IndicatorCounts] {
        var total: [UnitMonth: IndicatorCounts] = [:]
        for (unitMonth, counts) in own where topology.contains(unitMonth.unit) {
            for target in [unitMonth.unit] + unitMonth.unit.ancestors {
                let key = UnitMonth(unit: target, period: unitMonth.period)
                for (id, value) in counts where value != 0 { total[key, default: [:]][id, default: 0] += value }
            }
        }
        for (key, counts) in total {
            let nonZero = counts.filter { $0.value != 0 }
            total[key] = nonZero.isEmpty ? nil : nonZero
        }
        return total
    }
}

/// The counts a person slot can contribute (`IndicatorDelta.visitContribution`), numbered for `PersonTally`.
enum PersonCount: Int, CaseIterable, Sendable {
    case labourForce, employed, unemployed, registeredUnemployed, trained, newEmployment, newUrbanEmployment
    case reemployed, hardToEmployReemployed, ruralLabourEmployed, ruralLabourEmployedLocal
    case ruralLabourEmployedInProvince, ruralLabourEmployedOutOfProvince, assistanceTarget, assisted
    case collegeGraduates, collegeGraduatesEmployed, unemployedLastMonth, urbanLabourForce, urbanRegisteredUnemployed

    var id: IndicatorID { Self.ids[rawValue] }

    private static let ids: [IndicatorID] = allCases.map { count in
        switch count {
        case .labourForce: .labourForce
        case .employed: .employed
        case .unemployed: .unemployed
        case .registeredUnemployed: .registeredUnemployed
        case .trained: .trained
        case .newEmployment: .newEmployment
        case .newUrbanEmployment: .newUrbanEmployment
        case .reemployed: .reemployed
        case .hardToEmployReemployed: .hardToEmployReemployed
        case .ruralLabourEmployed: .ruralLabourEmployed
        case .ruralLabourEmployedLocal: .ruralLabourEmployedLocal
        case .ruralLabourEmployedInProvince: .ruralLabourEmployedInProvince
        case .ruralLabourEmployedOutOfProvince: .ruralLabourEmployedOutOfProvince
        case .assistanceTarget: .assistanceTarget
        case .assisted: .assisted
        case .collegeGraduates: .collegeGraduates
        case .collegeGraduatesEmployed: .collegeGraduatesEmployed
        case .unemployedLastMonth: .unemployedLastMonth
        case .urbanLabourForce: .urbanLabourForce
        case .urbanRegisteredUnemployed: .urbanRegisteredUnemployed
        }
    }
}

/// One unit-month's person counts by `PersonCount`, summed in an array.
struct PersonTally {
    var values = [Int64](repeating: 0, count: PersonCount.allCases.count)

    var counts: IndicatorCounts {
        var counts: IndicatorCounts = [:]
        for count in PersonCount.allCases where values[count.rawValue] != 0 {
            counts[count.id] = values[count.rawValue]
        }
        return counts
    }
}
