/// Counts of every count indicator for one unit and month.
package typealias IndicatorCounts = [IndicatorID: Int64]

/// Every count indicator of every unit (all four tiers) for a set of months, computed from scratch from
/// the latest record of each person (and unit) per month. This is the definition the processor's
/// incremental aggregates must equal.
///
/// Definitions (docs/design.md, "Indicators"), for a unit U and month P, over persons whose month-P record
/// is from a village in U:
/// - labour force = employed + unemployed; registered unemployed counts the flag. Their urban parts (urban labour
///   force, urban registered unemployed) count persons of urban communities (`Division.isUrban`): the bureau's
///   registered unemployment rate (城镇登记失业率) is urban registered unemployed ÷ urban labour force
///   (`urban_registered_unemployment_rate`). The rate over the whole labour force stays beside it under its own
///   name (`registered_unemployment_rate`, 登记失业率（全部劳动力）); reports and the shipped alert use the urban one.
/// - new employment: employed in P, and the person's record for P−1 (wherever it was) is not employed.
///   Its urban part counts persons of urban communities (`Division.isUrban`).
///   A person with no record in P−1 at all (a graduate who registers already employed, a migrant who returns
///   with a job, someone who moved in) counts when their month-P village reported in P−1: the village's
///   ledger of P−1 is then complete and the person really is new to it. When the village did not report in
///   P−1, nothing tells a new entrant from a person the village failed to report, and the person does not
///   count; the village's late report of P−1 makes them count (`VillageMonthCounts`).
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
package struct IndicatorComputation: Sendable {
    package let topology: Topology

    package init(topology: Topology) { self.topology = topology }

    /// - Parameters:
    ///   - persons: person records by month, one per person (the latest version).
    ///   - activity: activity reports by month, one per unit (the latest version).
    ///   - periods: the months to compute.
    package func compute(
        persons: [Period: [String: PersonStatusRecord]], activity: [Period: [DivisionCode: UnitActivityReport]],
        periods: [Period]
    ) -> [Period: [DivisionCode: IndicatorCounts]] {
        var result: [Period: [DivisionCode: IndicatorCounts]] = [:]
        for period in periods {
            var month = month(period)
            let current = persons[period] ?? [:]
            let previous = persons[period.previous] ?? [:]
            for personKey in Set(current.keys).union(previous.keys) {
                month.addPerson(previous: previous[personKey], current: current[personKey])
            }
            var households: [DivisionCode: [String: [EmploymentStatus]]] = [:]
            for record in current.values {
                households[record.unit, default: [:]][record.householdKey, default: []].append(record.status)
            }
            for (unit, members) in households {
                for statuses in members.values { month.addHousehold(unit: unit, statuses: statuses) }
            }
            for report in (activity[period] ?? [:]).values { month.addActivity(report) }
            result[period] = month.result()
        }
        return result
    }

    /// One month's computation, fed piece by piece, so that a caller can stream the ledger through it in
    /// bounded memory (the verifier does): each person once with both months' records, each household once
    /// with its members' statuses, each station's report once.
    package func month(_ period: Period) -> Month { Month(computation: self, period: period) }

    package struct Month: Sendable {
        let computation: IndicatorComputation
        let contributions: IndicatorDelta
        package let period: Period
        private var own: [DivisionCode: IndicatorCounts] = [:]
        /// Employed persons with no record in the month before, by their village; they count as new employment
        /// once every person is in and it is known whether their village reported the month before.
        private var entrants: [DivisionCode: Int64] = [:]
        private var reportedBefore = Set<DivisionCode>()

        init(computation: IndicatorComputation, period: Period) {
            self.computation = computation
            self.contributions = IndicatorDelta(topology: computation.topology)
            self.period = period
        }

        private mutating func add(_ unit: DivisionCode, _ id: IndicatorID, _ amount: Int64 = 1) {
            own[unit, default: [:]][id, default: 0] += amount
        }

        /// One person: the latest record for the month before and for the month (either may be absent).
        /// Each person's counts, transitions from the month before, and "unemployed last month" from the month
        /// before's record: one definition shared with the incremental form.
        package mutating func addPerson(previous: PersonStatusRecord?, current: PersonStatusRecord?) {
            contributions.visitContribution(previous: previous, current: current, period: period) {
                add($0.unit, $1.id)
            }
            if let previous { reportedBefore.insert(previous.unit) }
            if let entrant = IndicatorDelta.employedNewToLedger(previous: previous, current: current) {
                entrants[entrant.unit, default: 0] += 1
            }
        }

        /// One household of a village in the month, by its members' statuses; a village with any household
        /// reported. Call once per (village, household).
        package mutating func addHousehold(unit: DivisionCode, statuses: some Sequence<EmploymentStatus>) {
            var inLabourForce = false
            var employed = false
            for status in statuses {
                inLabourForce = inLabourForce || status != .notInLabourForce
                employed = employed || status == .employed
            }
            if inLabourForce && !employed { add(unit, .zeroEmploymentHouseholds) }
            if own[unit]?[.reportingUnits] == nil { add(unit, .reportingUnits) }
        }

        /// A station's latest report for the month.
        package mutating func addActivity(_ report: UnitActivityReport) {
            for (counter, value) in report.counters { add(report.unit, IndicatorID(rawValue: counter.rawValue), value) }
        }

        /// Every unit's counts (all tiers), with the expected units of the topology.
        package func result() -> [DivisionCode: IndicatorCounts] {
            var own = self.own
            for (village, count) in entrants where reportedBefore.contains(village) {
                own[village, default: [:]][.newEmployment, default: 0] += count
                if computation.topology[village]?.isUrban == true {
                    own[village, default: [:]][.newUrbanEmployment, default: 0] += count
                }
            }
            for village in computation.topology.allDivisions where village.tier == .village {
                own[village.code, default: [:]][.expectedUnits, default: 0] += 1
            }
            return computation.rollUp(own)
        }
    }

    /// Adds every unit's own counts into all its ancestors; every unit of the topology gets an entry.
    func rollUp(_ own: [DivisionCode: IndicatorCounts]) -> [DivisionCode: IndicatorCounts] {
        var total: [DivisionCode: IndicatorCounts] = Dictionary(
            uniqueKeysWithValues: topology.allDivisions.map { ($0.code, [:]) })
        for (unit, counts) in own where topology.contains(unit) {
            for target in [unit] + unit.ancestors {
                for (id, value) in counts { total[target, default: [:]][id, default: 0] += value }
            }
        }
        return total
    }
}
