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
        let contributions = IndicatorDelta(topology: topology)
        for period in periods {
            var own: [DivisionCode: IndicatorCounts] = [:]
            func add(_ unit: DivisionCode, _ id: IndicatorID, _ amount: Int64 = 1) { own[unit, default: [:]][id, default: 0] += amount }
            let current = persons[period] ?? [:]
            let previous = persons[period.previous] ?? [:]
            var households: [DivisionCode: [String: (inLabourForce: Bool, employed: Bool)]] = [:]
            for record in current.values {
                let unit = record.unit
                var household = households[unit, default: [:]][record.householdKey] ?? (false, false)
                household.inLabourForce = household.inLabourForce || record.status != .notInLabourForce
                household.employed = household.employed || record.status == .employed
                households[unit, default: [:]][record.householdKey] = household
            }
            // Each person's counts in the month, transitions from the month before, and "unemployed last
            // month" from the month before's record: one definition shared with the incremental form.
            for personKey in Set(current.keys).union(previous.keys) {
                let slot = contributions.contribution(previous: previous[personKey], current: current[personKey], period: period)
                for (unitMonth, counts) in slot {
                    for (id, value) in counts { add(unitMonth.unit, id, value) }
                }
            }
            for (unit, members) in households {
                let zero = members.values.filter { $0.inLabourForce && !$0.employed }.count
                if zero > 0 { add(unit, "zero_employment_households", Int64(zero)) }
                add(unit, "reporting_units")
            }
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
