import Analysis
import Domain
import Foundation
import Postgres

/// One unit's line of the situation table.
package struct SituationRow: Sendable, Codable, Hashable {
    package let unit: String
    package let name: String
    package let value: Double?
    package let previousMonth: Double?
    package let monthOnMonth: Double?
    package let sameMonthLastYear: Double?
    package let yearOnYear: Double?
    /// 1 is best: by progress against the target when there is one, else by value, in the indicator's good direction.
    package var rank: Int?
    package let reportingRate: Double?
    /// The value with the villages not yet reported estimated (`NonResponseImputation`: each its month before,
    /// moved as its county's reporting villages moved); nil when no village of the unit is estimated.
    package let estimate: Double?
    /// Villages of the unit estimated in `estimate`.
    package let estimatedVillages: Int
    package let yearToDate: Double?
    package let target: Double?
    /// yearToDate ÷ target.
    package let progress: Double?
    package let status: ReportingCalendar.Status
    /// The key indicators of the month (counts and rates).
    package let indicators: [String: Double]
}

package struct SituationTable: Sendable, Codable {
    package let tier: String
    package let period: String
    package let indicator: String
    package let indicatorName: String
    package let asOf: String?
    /// Share of the year elapsed at the end of the period (month ÷ 12).
    package let yearElapsed: Double
    package var rows: [SituationRow]
}

package struct SeriesPoint: Sendable, Codable, Hashable {
    package let period: String
    package let value: Double?
    package let seasonallyAdjusted: Double?
    package let trend: Double?
    package let monthOnMonth: Double?
    package let yearOnYear: Double?
    package let status: ReportingCalendar.Status
}

package struct QueryError: Error, CustomStringConvertible, Sendable {
    package let description: String
    package init(_ description: String) { self.description = description }
}

/// The situation queries the CLI, the report and the HTTP API share.
package struct SituationQuery: Sendable {
    package let history: IndicatorHistory
    package let topology: Topology
    package let targets: UnitTargets?
    package var calendar = ReportingCalendar()

    package init(database: PostgresClient, topology: Topology, targets: UnitTargets?) {
        self.history = IndicatorHistory(database: database)
        self.topology = topology
        self.targets = targets
    }

    package static let keyIndicators: [IndicatorID] = [
        .labourForce, .employed, .registeredUnemploymentRate, .urbanRegisteredUnemploymentRate,
        .newUrbanEmployment, .reemployed, .placementRate,
        .ruralLabourEmployed, .assistanceRate, .reportingRate,
    ]

    /// Where a table's estimate for the villages still due comes from: read with the table, or read once by a
    /// caller that asks for several tables of the same month and moment (the monthly report asks for about
    /// twenty, and each read covers every village).
    package enum EstimateSource: Sendable {
        case read
        case given(NonResponseImputation.Estimate?)
    }

    /// A month's estimate for the units with villages still due, as the tables read it.
    package func estimate(for period: Period, asOf: Date? = nil) async throws -> NonResponseImputation.Estimate? {
        try await history.estimates(topology: topology, from: period, through: period, asOf: asOf)[period]
    }

    /// Every unit of `tier` (within `within`, if given) for one month.
    package func situation(
        tier: Tier, period: Period, indicator id: IndicatorID = .newUrbanEmployment, within: DivisionCode? = nil,
        asOf: Date? = nil, estimate source: EstimateSource = .read
    ) async throws -> SituationTable {
        guard let indicator = IndicatorCatalogue.indicator(id) else {
            throw QueryError("'\(id)' is not an indicator of the catalogue")
        }
        let units = topology.allDivisions.filter { division in
            division.tier == tier && (within.map { division.code.isInSubtree(of: $0) } ?? true)
        }
        .sorted { $0.code < $1.code }
        let first = min(period.advanced(by: -12), period.startOfYear)
        // The month itself with every count its key indicators, completeness and target share need; the months
        // before with only the indicator's own counts (a village table is 2,628 units × 13 months).
        let codes = units.map(\.code) + [topology.city.code]
        let ownIDs = Set(indicator.countIDs)
        let monthIDs = ownIDs.union(Self.keyIndicators.compactMap(IndicatorCatalogue.indicator).flatMap(\.countIDs))
            .union([.labourForce])
        var data = try await history.counts(
            units: codes, from: first, through: period.previous, asOf: asOf, only: ownIDs)
        for (unit, counts) in try await history.counts(
            units: codes, from: period, through: period, asOf: asOf, only: monthIDs)
        {
            data[unit, default: [:]].merge(counts) { _, month in month }
        }
        let moment = asOf ?? Date()
        // Only counts made from person records are estimated; a station's counter (jobs collected) never is, and
        // its table need not read every village's month.
        let estimable = !Set(indicator.countIDs).isDisjoint(with: NonResponseImputation.carriedCounts)
        var estimate: NonResponseImputation.Estimate?
        if estimable {
            switch source {
            case .read: estimate = try await self.estimate(for: period, asOf: asOf)
            case .given(let given): estimate = given
            }
        }
        let cityLabour = Double(data[topology.city.code]?[period]?[.labourForce] ?? 0)
        var rows: [SituationRow] = units.map { division in
            let months = data[division.code] ?? [:]
            let counts = months[period] ?? [:]
            let value = indicator.value(in: counts)
            let previous = indicator.value(in: months[period.previous] ?? [:])
            let lastYear = months[period.advanced(by: -12)].flatMap { indicator.value(in: $0) }
            let ytd = Self.yearToDate(indicator, months: months, period: period)
            let share = cityLabour > 0 ? Double(counts[.labourForce] ?? 0) / cityLabour : 0
            let target = targets.flatMap {
                $0.year > 0 ? $0.target(id, unit: division.code, labourForceShare: share) : nil
            }
            var key: [String: Double] = [:]
            for keyID in Self.keyIndicators {
                if let keyIndicator = IndicatorCatalogue.indicator(keyID), let keyValue = keyIndicator.value(in: counts)
                {
                    key[keyID.rawValue] = keyValue
                }
            }
            return SituationRow(
                unit: division.code.description, name: division.name, value: value, previousMonth: previous,
                monthOnMonth: Self.change(value, previous), sameMonthLastYear: lastYear,
                yearOnYear: Self.change(value, lastYear),
                rank: nil, reportingRate: IndicatorCatalogue.indicator(.reportingRate)?.value(in: counts),
                estimate: estimate.flatMap {
                    $0.isEstimated(division.code) ? indicator.value(in: $0.estimated(counts, unit: division.code)) : nil
                },
                estimatedVillages: estimate?.estimatedVillages[division.code] ?? 0,
                yearToDate: ytd, target: target, progress: target.flatMap { t in t != 0 ? ytd.map { $0 / t } : nil },
                status: calendar.status(of: period, at: moment), indicators: key)
        }
        let better = indicator.higherIsBetter ?? true
        let ranked = rows.indices.filter { (rows[$0].progress ?? rows[$0].value) != nil }.sorted { a, b in
            let left = rows[a].progress ?? rows[a].value ?? 0
            let right = rows[b].progress ?? rows[b].value ?? 0
            return left == right ? rows[a].unit < rows[b].unit : (better ? left > right : left < right)
        }
        for (position, index) in ranked.enumerated() { rows[index].rank = position + 1 }
        return SituationTable(
            tier: tier.rawValue, period: period.description, indicator: id.rawValue,
            indicatorName: indicator.chineseName,
            asOf: asOf.map(IndicatorHistory.timestamp), yearElapsed: Double(period.month) / 12, rows: rows)
    }

    /// One indicator of one unit over months, raw and seasonally adjusted (adjusted over the unit's whole
    /// history, so that the filter sees full years), each month marked preliminary or revised.
    package func series(
        unit: DivisionCode, indicator id: IndicatorID, from first: Period, through last: Period, asOf: Date? = nil
    ) async throws -> [SeriesPoint] {
        guard let indicator = IndicatorCatalogue.indicator(id) else {
            throw QueryError("'\(id)' is not an indicator of the catalogue")
        }
        guard topology.contains(unit) else { throw QueryError("\(unit) is not a unit of \(topology.city.name)") }
        guard first <= last else { throw QueryError("--from \(first) is after --to \(last)") }
        let known = try await history.monitoredPeriods(asOf: asOf)
        // Months before anything was reported are unknown, not zero.
        let start = known.first ?? first
        let end = max(last, known.last ?? last)
        let months = try await history.counts(units: [unit], from: start, through: end, asOf: asOf)[unit] ?? [:]
        let span = start.through(known.last.map { min($0, end) } ?? end)
        let values = span.map { months[$0].flatMap { indicator.value(in: $0) } ?? (indicator.unit == .count ? 0 : nil) }
        let complete = values.compactMap { $0 }
        let adjustment = complete.count == values.count ? SeasonalAdjustment(complete) : nil
        let moment = asOf ?? Date()
        return first.through(last).map { period in
            let offset = start.distance(to: period)
            let inSpan = span.indices.contains(offset)
            let value = inSpan ? values[offset] : nil
            let previous = span.indices.contains(offset - 1) ? values[offset - 1] : nil
            let lastYear = span.indices.contains(offset - 12) ? values[offset - 12] : nil
            return SeriesPoint(
                period: period.description, value: value,
                seasonallyAdjusted: inSpan ? adjustment?.adjusted[offset] : nil,
                trend: inSpan ? adjustment?.trend[offset] : nil,
                monthOnMonth: Self.change(value, previous), yearOnYear: Self.change(value, lastYear),
                status: calendar.status(of: period, at: moment))
        }
    }

    /// The sum of January…period for accumulating indicators; the month's value for levels and rates.
    static func yearToDate(_ indicator: Indicator, months: [Period: IndicatorCounts], period: Period) -> Double? {
        switch indicator.rollup {
        case .sum where indicator.accumulatesOverYear:
            return period.startOfYear.through(period).reduce(0.0) { $0 + Double(months[$1]?[indicator.id] ?? 0) }
        case .ratio(let numerator, let denominator)
        where IndicatorCatalogue.indicator(numerator)?.accumulatesOverYear == true:
            // A rate of flows over the year: summed numerators over summed denominators.
            let top = period.startOfYear.through(period).reduce(0.0) { $0 + Double(months[$1]?[numerator] ?? 0) }
            let bottom = period.startOfYear.through(period).reduce(0.0) { $0 + Double(months[$1]?[denominator] ?? 0) }
            return bottom > 0 ? top / bottom : nil
        default:
            return months[period].flatMap { indicator.value(in: $0) }
        }
    }

    /// Relative change for counts, but for rates the caller reads it as a change in the rate itself.
    static func change(_ now: Double?, _ before: Double?) -> Double? {
        guard let now, let before else { return nil }
        return now - before
    }
}
