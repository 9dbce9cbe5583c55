/// Estimates for the villages that have not reported a month yet, as LAUS and CES do for non-respondents.
///
/// Reports trickle in until the 10th of the next month. Until every village of a unit is in, the unit's stored
/// counts hold only the villages reported so far: its employed persons, its re-employed and its new employment
/// fall, and the fall is not real. A village that reported the month before and not this month is estimated
/// the way CES estimates a non-respondent, by its own last figure moved as the respondents moved (the
/// link-relative estimator): its month-before count × (this month ÷ the month before) summed over the villages of
/// its county that reported both months. Re-employment, a flow out of a base the month before's records already
/// give in full, is estimated from that base instead: the village's "unemployed last month" × the re-employment
/// rate of its county's respondents this month. A reported-plus-estimated rate then moves as its respondents'
/// does, not with the share reported. With no respondent in the county yet, the last figure is carried forward.
///
/// A village that did not report the month before either is not estimated (nothing recent to move);
/// `reporting_rate` and the missing-reports alert speak for it.
///
/// Estimated: every count made from a village's person records (`carriedCounts`). Not estimated: "unemployed
/// last month", which is complete; reporting and expected units, which say what was reported; and the stations'
/// activity counters, which are not villages' reports.
///
/// The estimate is shown beside the reported figure, never in place of it: stored indicators stay what the
/// ledger says. Alert rules judge the reported-plus-estimated figure (`AlertEngine`), so that a partly reported
/// month does not look like a fall.
package struct NonResponseImputation: Sendable {
    package let topology: Topology

    package init(topology: Topology) { self.topology = topology }

    package static let carriedCounts: [IndicatorID] = [
        .labourForce, .employed, .unemployed, .registeredUnemployed, .newEmployment, .newUrbanEmployment,
        .reemployed, .hardToEmployReemployed, .ruralLabourEmployed, .ruralLabourEmployedLocal,
        .ruralLabourEmployedInProvince, .ruralLabourEmployedOutOfProvince, .zeroEmploymentHouseholds,
        .trained, .assisted, .assistanceTarget, .collegeGraduates, .collegeGraduatesEmployed,
        .urbanLabourForce, .urbanRegisteredUnemployed,
    ]

    /// Flows out of last month's registered unemployed: estimated from that base, which is known in full.
    static let fromUnemployedLastMonth: Set<IndicatorID> = [.reemployed, .hardToEmployReemployed]

    /// Every count `estimate` reads from a village's months: a reader that leaves one out changes the estimate.
    package static let inputCounts: Set<IndicatorID> = Set(
        carriedCounts + [.reportingUnits, .unemployedLastMonth])

    /// A month's estimate for every unit with estimated villages in its subtree.
    package struct Estimate: Sendable, Equatable {
        package let period: Period
        /// Counts to add to a unit's reported counts, summed over its estimated villages (fractions until added).
        package var additions: [DivisionCode: [IndicatorID: Double]] = [:]
        /// How many villages of the unit's subtree are estimated.
        package var estimatedVillages: [DivisionCode: Int] = [:]

        package init(period: Period) { self.period = period }

        /// Reported plus estimated, rounded to whole persons: the unit's counts as if its missing villages had reported.
        package func estimated(_ reported: IndicatorCounts, unit: DivisionCode) -> IndicatorCounts {
            guard let extra = additions[unit] else { return reported }
            var counts = reported
            for (id, value) in extra { counts[id] = Int64((Double(reported[id] ?? 0) + value).rounded()) }
            return counts
        }

        package func isEstimated(_ unit: DivisionCode) -> Bool { (estimatedVillages[unit] ?? 0) > 0 }
    }

    /// - Parameter villageCounts: the stored counts of villages (at least) for `period` and the month before;
    ///   a village absent from it has reported neither.
    package func estimate(_ period: Period, villageCounts: [DivisionCode: [Period: IndicatorCounts]]) -> Estimate {
        func reported(_ counts: IndicatorCounts?) -> Bool { (counts?[.reportingUnits] ?? 0) > 0 }
        var respondentsNow: [DivisionCode: IndicatorCounts] = [:]
        var respondentsBefore: [DivisionCode: IndicatorCounts] = [:]
        var missing: [(village: DivisionCode, county: DivisionCode, before: IndicatorCounts, now: IndicatorCounts)] = []
        for village in topology.allDivisions where village.tier == .village {
            let months = villageCounts[village.code] ?? [:]
            guard let county = village.code.ancestor(at: .county), let before = months[period.previous],
                reported(before)
            else { continue }
            if reported(months[period]) {
                respondentsNow[county, default: [:]].merge(months[period] ?? [:], uniquingKeysWith: +)
                respondentsBefore[county, default: [:]].merge(before, uniquingKeysWith: +)
            } else {
                missing.append((village.code, county, before, months[period] ?? [:]))
            }
        }
        var estimate = Estimate(period: period)
        for village in missing {
            let now = respondentsNow[village.county] ?? [:]
            let before = respondentsBefore[village.county] ?? [:]
            var values: [IndicatorID: Double] = [:]
            for id in Self.carriedCounts {
                let base = Double(village.before[id] ?? 0)
                if Self.fromUnemployedLastMonth.contains(id), let pool = now[.unemployedLastMonth], pool > 0 {
                    values[id] = Double(village.now[.unemployedLastMonth] ?? 0) * Double(now[id] ?? 0) / Double(pool)
                } else if let then = before[id], then > 0 {
                    values[id] = base * Double(now[id] ?? 0) / Double(then)
                } else {
                    values[id] = base
                }
            }
            for unit in [village.village] + village.village.ancestors {
                estimate.estimatedVillages[unit, default: 0] += 1
                estimate.additions[unit, default: [:]].merge(values.filter { $0.value != 0 }, uniquingKeysWith: +)
            }
        }
        return estimate
    }
}
