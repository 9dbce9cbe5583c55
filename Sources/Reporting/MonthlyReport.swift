import Analysis
import Domain
import Foundation
import Postgres
import Situation

/// Everything the month's 就业形势分析 shows, gathered from the stored indicators, forecasts and alerts.
package struct MonthlyReport: Sendable {
    package struct Headline: Sendable {
        package let indicator: Indicator
        /// The month's value, and the year-to-date figure for accumulating indicators.
        package let month: Double?
        package let yearToDate: Double?
        package let target: Double?
        package let progress: Double?
        package let monthOnMonth: Double?
        package let yearOnYear: Double?
        /// The month's value with the villages not yet reported estimated (`NonResponseImputation`); nil when all have.
        package let estimate: Double?
    }

    package struct Mover: Sendable {
        package let unit: String
        package let name: String
        package let tier: Tier
        package let indicator: Indicator
        package let before: Double
        package let after: Double
        package var change: Double { after - before }
    }

    package struct ForecastView: Sendable {
        package let indicator: Indicator
        package let history: [(period: Period, value: Double)]
        package let forecast: [(period: Period, mean: Double, lo80: Double, hi80: Double, lo95: Double, hi95: Double)]
        package let model: String
        package let source: String
        package let outlook: TargetOutlook?
    }

    package let period: Period
    package let city: Division
    package let generatedAt: Date
    package let yearElapsed: Double
    package let completeness: Double?
    /// Villages of the city not yet reported this month and estimated in the headlines and the movers.
    package let estimatedVillages: Int
    package let status: ReportingCalendar.Status
    package let headlines: [Headline]
    package let counties: SituationTable
    package let movers: [Mover]
    package let alerts: [AlertRecord]
    package let forecast: ForecastView?
    /// City rates over the last months: urban registered unemployment rate (城镇登记失业率) and placement rate.
    package let rates: [(period: Period, unemployment: Double?, placement: Double?)]
    /// The counties drawn for the progress map; nil when no outlines were given.
    package let countyDrawing: CountyDrawing?
    /// The villages' data quality of the month (the appendix).
    package var quality: DataQualityTable? = nil
}

package struct ReportBuilder: Sendable {
    package let database: PostgresClient
    package let topology: Topology
    package let targets: UnitTargets?
    package let countyMap: CountyMap?

    package init(database: PostgresClient, topology: Topology, targets: UnitTargets?, countyMap: CountyMap? = nil) {
        self.database = database
        self.topology = topology
        self.targets = targets
        self.countyMap = countyMap
    }

    package static let headlineIndicators: [IndicatorID] = [
        .newUrbanEmployment, .reemployed, .hardToEmployReemployed, .ruralLabourEmployed,
        .trainingCompletions, .jobsCollected,
        .urbanRegisteredUnemploymentRate, .placementRate, .assistanceRate, .graduateEmploymentRate,
    ]

    static let moverIndicators: [IndicatorID] = [
        .employed, .registeredUnemployed, .newUrbanEmployment, .reemployed,
    ]

    package func build(period: Period) async throws -> MonthlyReport {
        let query = SituationQuery(database: database, topology: topology, targets: targets)
        let cityCode = topology.city.code
        // Every table below is of the same month: its estimate is read once, not by each of them.
        let estimate = SituationQuery.EstimateSource.given(try await query.estimate(for: period))
        var headlines: [MonthlyReport.Headline] = []
        for id in Self.headlineIndicators {
            guard let indicator = IndicatorCatalogue.indicator(id) else { continue }
            let row = try await query.situation(tier: .city, period: period, indicator: id, estimate: estimate).rows
                .first
            headlines.append(
                MonthlyReport.Headline(
                    indicator: indicator, month: row?.value, yearToDate: row?.yearToDate, target: row?.target,
                    progress: row?.progress,
                    monthOnMonth: row?.monthOnMonth, yearOnYear: row?.yearOnYear, estimate: row?.estimate))
        }
        let counties = try await query.situation(
            tier: .county, period: period, indicator: .newUrbanEmployment, estimate: estimate)
        var movers: [MonthlyReport.Mover] = []
        for id in Self.moverIndicators {
            guard let indicator = IndicatorCatalogue.indicator(id) else { continue }
            for tier in [Tier.county, .township] {
                for row in try await query.situation(
                    tier: tier, period: period, indicator: id, estimate: estimate
                ).rows {
                    // A unit still reporting moves by its estimate, not by the villages it lacks.
                    guard let after = row.estimate ?? row.value, let before = row.previousMonth, max(after, before) >= 5
                    else { continue }
                    movers.append(
                        MonthlyReport.Mover(
                            unit: row.unit, name: row.name, tier: tier, indicator: indicator, before: before,
                            after: after))
                }
            }
        }
        movers.sort { abs($0.change) / max(1, $0.before) > abs($1.change) / max(1, $1.before) }
        let city = try await query.situation(
            tier: .city, period: period, indicator: .reportingRate, estimate: estimate
        ).rows.first
        let alerts = try await AlertRecord.list(database: database, state: "firing", limit: 500)

        let history = try await query.series(
            unit: cityCode, indicator: .newUrbanEmployment, from: period.advanced(by: -23), through: period)
        let values = history.compactMap { point in
            point.value.flatMap { value in Period(point.period).map { ($0, value) } }
        }
        let trimmed = Array(values.drop { $0.1 == 0 })
        let forecast = try await forecastView(period: period, history: trimmed)
        let rateSeries = try await query.series(
            unit: cityCode, indicator: .urbanRegisteredUnemploymentRate, from: period.advanced(by: -11),
            through: period)
        let placement = try await query.series(
            unit: cityCode, indicator: .placementRate, from: period.advanced(by: -11), through: period)
        let rates = zip(rateSeries, placement).compactMap { pair -> (Period, Double?, Double?)? in
            Period(pair.0.period).map { ($0, pair.0.value, pair.1.value) }
        }
        let quality = try await DataQualityView(database: database, topology: topology).table(
            period: period, maxAge: 0)
        return MonthlyReport(
            period: period, city: topology.city, generatedAt: Date(), yearElapsed: Double(period.month) / 12,
            completeness: city?.value,
            estimatedVillages: city?.estimatedVillages ?? 0,
            status: city?.status ?? .preliminary, headlines: headlines, counties: counties,
            movers: Array(movers.prefix(10)),
            alerts: alerts, forecast: forecast,
            rates: rates.map { (period: $0.0, unemployment: $0.1, placement: $0.2) },
            countyDrawing: countyMap?.drawing(width: 440), quality: quality
        )
    }

    /// The stored forecast of new urban employment when one starts right after the month; otherwise one made now
    /// for the city alone. Either way with the year-end outlook against the target.
    func forecastView(period: Period, history: [(Period, Double)]) async throws -> MonthlyReport.ForecastView? {
        guard let indicator = IndicatorCatalogue.indicator(.newUrbanEmployment),
            history.count >= Forecaster.minimumLength
        else { return nil }
        let values = history.map(\.1)
        let yearValues = history.filter { $0.0.year == period.year }
        let target = targets?.target(indicator.id, unit: topology.city.code, labourForceShare: 1)
        let outlook = target.flatMap { target in
            try? TargetAttainment.outlook(
                history: values, monthsElapsed: min(12, yearValues.count), target: target, accumulates: true)
        }
        let stored = try await StoredForecasts(database: database, topology: topology).latest(
            indicator: indicator.id, units: [topology.city.code])
        if let stored, let points = stored.points[topology.city.code], points.first?.period == period.next.description {
            let rows = points.compactMap { point -> (Period, Double, Double, Double, Double, Double)? in
                guard let p = Period(point.period), let mean = point.mean else { return nil }
                return (p, mean, point.lo80 ?? mean, point.hi80 ?? mean, point.lo95 ?? mean, point.hi95 ?? mean)
            }
            return MonthlyReport.ForecastView(
                indicator: indicator, history: history.map { (period: $0.0, value: $0.1) },
                forecast: rows.map { (period: $0.0, mean: $0.1, lo80: $0.2, hi80: $0.3, lo95: $0.4, hi95: $0.5) },
                model: points.first?.model ?? "", source: "已存预测（\(stored.created)，分层调和）", outlook: outlook)
        }
        let forecaster = Forecaster()
        let forecast = try forecaster.forecast(values, horizon: 6)
        let rows = (0..<forecast.horizon).map { step in
            (
                period: period.advanced(by: step + 1), mean: forecast.mean[step], lo80: forecast.lo80[step],
                hi80: forecast.hi80[step],
                lo95: forecast.lo95[step], hi95: forecast.hi95[step]
            )
        }
        return MonthlyReport.ForecastView(
            indicator: indicator, history: history.map { (period: $0.0, value: $0.1) }, forecast: rows,
            model: forecast.model,
            source: "报告生成时对市级序列单独预测", outlook: outlook)
    }
}
