/// Counts of every count indicator for one unit and month.
public typealias IndicatorCounts = [IndicatorID: Int64]

/// Every count indicator of every unit (all four tiers) for a set of months, computed from scratch from
/// the latest record of each person (and unit) per month. This is the definition the processor's
/// incremental aggregates must equal.
///
/// Definitions (DESIGN.md, "Indicators"), for a unit U and month P, over persons whose month-P record
/// is from a village in U:
/// - labour force = employed + unemployed; registered unemployed counts the flag.
/// - new employment: employed in P, and the person's record for P−1 (wherever it was) is not employed.
///   Its urban part counts persons of urban communities (`Division.isUrban`).
/// - re-employed: registered unemployed in P−1, employed in P; hard-to-employ re-employed also carries
///   the hard-to-employ group in P. Both count at the P unit.
/// - unemployed last month: registered unemployed in P−1, counted at the P−1 unit (the placement
///   rate's denominator).
/// - rural labour employed: employed with the rural-labour group, split by work location.
/// - zero-employment households: households of U with someone in the labour force and no one employed.
/// - assistance target: registered unemployed, or hard-to-employ and not employed; assisted: those of
///   the target assisted this month.
/// - college graduates: graduates in the labour force, and those employed.
/// - reporting units: villages with at least one record in P; expected units: all villages.
/// - activity counters: the latest report of each township/county station.
/// Rates are not stored: they are ratios of these sums (`IndicatorCatalogue.rates`).
public struct IndicatorComputation: Sendable {
    public let topology: Topology

    public init(topology: Topology) { self.topology = topology }

    /// - Parameters:
    ///   - persons: person records by month, one per person (the latest version).
    ///   - activity: activity reports by month, one per unit (the latest version).
    ///   - periods: the months to compute.
    public func compute(
        persons: [Period: [String: PersonStatusRecord]], activity: [Period: [DivisionCode: UnitActivityReport]],
        periods: [Period]
    ) -> [Period: [DivisionCode: IndicatorCounts]] {
        var result: [Period: [DivisionCode: IndicatorCounts]] = [:]
        let villages = topology.allDivisions.filter { $0.tier == .village }
        for period in periods {
            var own: [DivisionCode: IndicatorCounts] = [:]
            func add(_ unit: DivisionCode, _ id: IndicatorID, _ amount: Int64 = 1) { own[unit, default: [:]][id, default: 0] += amount }
            let current = persons[period] ?? [:]
            let previous = persons[period.previous] ?? [:]
            var households: [DivisionCode: [String: (inLabourForce: Bool, employed: Bool)]] = [:]
            for record in current.values {
                let unit = record.unit
                let employed = record.status == .employed
                let inLabourForce = record.status != .notInLabourForce
                let hardToEmploy = record.groups.contains(.hardToEmploy)
                if inLabourForce { add(unit, "labour_force") }
                if employed { add(unit, "employed") }
                if record.status == .unemployed { add(unit, "unemployed") }
                if record.registeredUnemployed { add(unit, "registered_unemployed") }
                if record.trained { add(unit, "trained") }
                if let before = previous[record.personKey], employed {
                    if before.status != .employed {
                        add(unit, "new_employment")
                        if topology[unit]?.isUrban == true { add(unit, "new_urban_employment") }
                    }
                    if before.registeredUnemployed {
                        add(unit, "reemployed")
                        if hardToEmploy { add(unit, "hard_to_employ_reemployed") }
                    }
                }
                if employed, record.groups.contains(.ruralLabour) {
                    add(unit, "rural_labour_employed")
                    switch record.workLocation {
                    case .local: add(unit, "rural_labour_employed_local")
                    case .inProvince: add(unit, "rural_labour_employed_in_province")
                    case .outOfProvince: add(unit, "rural_labour_employed_out_of_province")
                    case nil: break
                    }
                }
                if record.registeredUnemployed || (hardToEmploy && !employed) {
                    add(unit, "assistance_target")
                    if record.assisted { add(unit, "assisted") }
                }
                if record.groups.contains(.collegeGraduate), inLabourForce {
                    add(unit, "college_graduates")
                    if employed { add(unit, "college_graduates_employed") }
                }
                var household = households[unit, default: [:]][record.householdKey] ?? (false, false)
                household.inLabourForce = household.inLabourForce || inLabourForce
                household.employed = household.employed || employed
                households[unit, default: [:]][record.householdKey] = household
            }
            for (unit, members) in households {
                let zero = members.values.filter { $0.inLabourForce && !$0.employed }.count
                if zero > 0 { add(unit, "zero_employment_households", Int64(zero)) }
                add(unit, "reporting_units")
            }
            for record in previous.values where record.registeredUnemployed { add(record.unit, "unemployed_last_month") }
            for village in villages { add(village.code, "expected_units") }
            for report in (activity[period] ?? [:]).values {
                for (counter, value) in report.counters { add(report.unit, IndicatorID(rawValue: counter.rawValue), value) }
            }
            result[period] = rollUp(own)
        }
        return result
    }

    /// Adds every unit's own counts into all its ancestors; every unit of the topology gets an entry.
    private func rollUp(_ own: [DivisionCode: IndicatorCounts]) -> [DivisionCode: IndicatorCounts] {
        var total: [DivisionCode: IndicatorCounts] = Dictionary(uniqueKeysWithValues: topology.allDivisions.map { ($0.code, [:]) })
        for (unit, counts) in own where topology.contains(unit) {
            for target in [unit] + unit.ancestors {
                for (id, value) in counts { total[target, default: [:]][id, default: 0] += value }
            }
        }
        return total
    }
}
