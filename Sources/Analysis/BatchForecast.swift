import Domain
import Foundation

/// Forecasts many series at once, on every core, reconciling them when they form a hierarchy.
package struct BatchForecast: Sendable {
    package var forecaster = Forecaster()
    package var reconciliation: ReconciliationMethod = .minTShrink

    package init() {}

    package struct Result: Sendable {
        /// First forecast month of each series.
        package var origin: [String: Period]
        package var forecasts: [String: SeriesForecast]
        package var shrinkage: Double?
    }

    package func run(_ table: SeriesTable, horizon: Int) async throws -> Result {
        if let (hierarchy, all) = try table.completedHierarchy() {
            let fitted = try await forecastAll(all, horizon: horizon)
            var base: [String: SeriesForecast] = [:]
            var residuals: [String: [Double]] = [:]
            var nonNegative: Set<String> = []
            for node in hierarchy.nodes {
                guard let series = all[node], let (model, forecast) = fitted[node] else { continue }
                if !series.values.contains(where: { $0 < 0 }) { nonNegative.insert(node) }
                base[node] = forecast
                residuals[node] = model.residuals
            }
            let reconciled = try Reconciler.reconcile(
                base: base, residuals: residuals, hierarchy: hierarchy, method: reconciliation, nonNegative: nonNegative
            )
            return Result(
                origin: all.mapValues { $0.end.next }, forecasts: reconciled.forecasts, shrinkage: reconciled.shrinkage)
        }
        let fitted = try await forecastAll(table.series, horizon: horizon)
        return Result(origin: table.series.mapValues { $0.end.next }, forecasts: fitted.mapValues(\.1), shrinkage: nil)
    }

    /// Fits and forecasts every series, spread over the cores.
    func forecastAll(_ series: [String: SeriesTable.Series], horizon: Int) async throws -> [String: (
        FittedModel, SeriesForecast
    )] {
        let forecaster = self.forecaster
        let inputs = series.keys.sorted().map { ($0, series[$0]?.values ?? []) }
        let fitted = try await inputs.concurrentMap { name, values throws -> (String, FittedModel, SeriesForecast) in
            do throws(ForecastError) {
                let model = try forecaster.fit(values)
                let forecast = forecaster.forecast(
                    model, horizon: horizon, seed: Self.seed(name), nonNegative: !values.contains { $0 < 0 })
                return (name, model, forecast)
            } catch {
                throw ForecastError("\(name): \(error.description)")
            }
        }
        return Dictionary(fitted.map { ($0.0, ($0.1, $0.2)) }, uniquingKeysWith: { first, _ in first })
    }

    /// A stable seed per series, so that the same file gives the same intervals.
    package static func seed(_ name: String) -> UInt64 {
        name.utf8.reduce(UInt64(1_469_598_103_934_665_603)) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 }
    }
}

/// Fits on all but the last months of every series and scores the held-out months; with several origins
/// (rolling origin), again from each of the `origins − 1` months before, and averages each series' scores.
package struct Backtest: Sendable {
    package struct Score: Sendable {
        package let unit: String
        package let months: Int
        package let model: String
        package let mase: Double?
        package let smape: Double?
        package let naiveMASE: Double?
        package let naiveSMAPE: Double?
    }

    package struct Report: Sendable {
        package var scores: [Score]
        /// Series whose training part was too short, with the reason.
        package var skipped: [(unit: String, reason: String)]

        package var meanMASE: Double? { Self.mean(scores.compactMap(\.mase)) }
        package var meanNaiveMASE: Double? { Self.mean(scores.compactMap(\.naiveMASE)) }
        package var meanSMAPE: Double? { Self.mean(scores.compactMap(\.smape)) }
        package var meanNaiveSMAPE: Double? { Self.mean(scores.compactMap(\.naiveSMAPE)) }

        static func mean(_ values: [Double]) -> Double? {
            values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
        }
    }

    package var forecaster = Forecaster()
    package var period = 12

    package init() {}

    package func run(_ table: SeriesTable, holdout: Int, origins: Int = 1) async -> Report {
        let forecaster = self.forecaster
        let period = self.period
        let inputs = table.series.keys.sorted().map { ($0, table.series[$0]?.values ?? []) }
        let outcomes = await inputs.concurrentMap { name, values -> (String, Result<Score, ForecastError>) in
            guard values.count - holdout - (origins - 1) > period else {
                return (
                    name,
                    .failure(
                        ForecastError(
                            "\(values.count) months leave fewer than \(period + 1) to fit on at the earliest origin")
                    )
                )
            }
            var scores: [(model: String, mase: Double?, smape: Double?, naiveMASE: Double?, naiveSMAPE: Double?)] = []
            for back in 0..<origins {
                let end = values.count - back
                let training = Array(values[..<(end - holdout)])
                let actual = Array(values[(end - holdout)..<end])
                do throws(ForecastError) {
                    let model = try forecaster.fit(training)
                    let mean = model.pointForecast(horizon: holdout)
                    let naive = Forecaster.seasonalNaive(training, period: period).pointForecast(horizon: holdout)
                    scores.append(
                        (
                            model.name,
                            Accuracy.mase(actual: actual, forecast: mean, training: training, period: period),
                            Accuracy.smape(actual: actual, forecast: mean),
                            Accuracy.mase(actual: actual, forecast: naive, training: training, period: period),
                            Accuracy.smape(actual: actual, forecast: naive)
                        ))
                } catch {
                    return (name, .failure(error))
                }
            }
            let models = Set(scores.map(\.model))
            return (
                name,
                .success(
                    Score(
                        unit: name, months: values.count,
                        model: models.count == 1 ? scores[0].model : "\(models.count) models",
                        mase: Report.mean(scores.compactMap(\.mase)), smape: Report.mean(scores.compactMap(\.smape)),
                        naiveMASE: Report.mean(scores.compactMap(\.naiveMASE)),
                        naiveSMAPE: Report.mean(scores.compactMap(\.naiveSMAPE))))
            )
        }
        var report = Report(scores: [], skipped: [])
        for (name, outcome) in outcomes {
            switch outcome {
            case .success(let score): report.scores.append(score)
            case .failure(let error): report.skipped.append((name, error.description))
            }
        }
        return report
    }
}
