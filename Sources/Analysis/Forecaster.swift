import Domain
import Foundation

/// A forecast of one series: point forecasts and 80%/95% prediction intervals for months 1…h ahead.
package struct SeriesForecast: Sendable {
    package let model: String
    package var mean: [Double]
    package var lo80: [Double]
    package var hi80: [Double]
    package var lo95: [Double]
    package var hi95: [Double]

    package var horizon: Int { mean.count }

    package init(model: String, mean: [Double], lo80: [Double], hi80: [Double], lo95: [Double], hi95: [Double]) {
        self.model = model
        self.mean = mean
        self.lo80 = lo80
        self.hi80 = hi80
        self.lo95 = lo95
        self.hi95 = hi95
    }

    /// The standard deviation a Gaussian interval of the same 95% width would have; what reconciliation rescales.
    package func standardDeviation(at step: Int) -> Double { max(0, hi95[step] - lo95[step]) / (2 * 1.959964) }
}

/// How a series is forecast.
package enum ForecastMethod: Sendable, Hashable {
    /// What the pipeline forecasts with: the combination, chosen by rolling-origin backtest on real monthly series
    /// (`Benchmarks/series/`, docs/benchmarks.md "Forecasting"): it beat each of its members there.
    package static let production = ForecastMethod.combination

    /// Every admissible ETS model, the one with the smallest AICc.
    case automatic
    case seasonalNaive
    case ets(ETSSpec)
    /// The standard Theta method (`ThetaModel`).
    case theta
    /// A seasonal ARIMA chosen by AICc (`ARIMAModel`).
    case arima
    /// The equal-weight mean of the automatic ETS, Theta and automatic ARIMA forecasts (the M4 competition's
    /// lesson), point and interval bounds alike; a member that cannot be fitted (ARIMA on very short series) is
    /// left out.
    case combination
}

/// A model fitted to one series, ready to forecast or to draw future paths from.
package enum FittedModel: Sendable {
    case ets(ETSModel)
    /// ŷ(T+h) = y(T+h−m·k), k = ⌈h/m⌉; σ from the seasonal differences.
    case seasonalNaive(lastSeason: [Double], sigma: Double, residuals: [Double])
    /// Too short or constant: the last value, with the spread of its changes.
    case naive(last: Double, sigma: Double, residuals: [Double])
    case theta(ThetaModel)
    case arima(ARIMAModel)
    /// The equal-weight mean of its members.
    indirect case combination([FittedModel])

    package var name: String {
        switch self {
        case .ets(let model): model.spec.description
        case .seasonalNaive: "SNAIVE"
        case .naive: "NAIVE"
        case .theta: "THETA"
        case .arima(let model): model.orders.description
        case .combination(let members): "COMB(" + members.map(\.name).joined(separator: "+") + ")"
        }
    }

    /// One-step in-sample errors, aligned to the end of the series (earliest months may be missing).
    package var residuals: [Double] {
        switch self {
        case .ets(let model): model.residuals
        case .seasonalNaive(_, _, let residuals), .naive(_, _, let residuals): residuals
        case .theta(let model): model.residuals
        case .arima(let model): model.residuals
        case .combination(let members):
            // The mean of the members' errors, over the months all of them have.
            Self.mean(members.map(\.residuals))
        }
    }

    /// The element-wise mean of equally long or end-aligned arrays, over their common tail.
    static func mean(_ arrays: [[Double]]) -> [Double] {
        let length = arrays.map(\.count).min() ?? 0
        guard length > 0 else { return [] }
        return (0..<length).map { i in
            arrays.reduce(0) { $0 + $1[$1.count - length + i] } / Double(arrays.count)
        }
    }

    package var aicc: Double? {
        if case .ets(let model) = self { return model.aicc }
        return nil
    }

    package func pointForecast(horizon: Int) -> [Double] {
        switch self {
        case .ets(let model): return model.forecast(horizon: horizon)
        case .seasonalNaive(let season, _, _): return (0..<horizon).map { season[$0 % season.count] }
        case .naive(let last, _, _): return Array(repeating: last, count: horizon)
        case .theta(let model): return model.forecast(horizon: horizon)
        case .arima(let model): return model.forecast(horizon: horizon)
        case .combination(let members): return Self.mean(members.map { $0.pointForecast(horizon: horizon) })
        }
    }

    /// Future paths: `paths` rows of `horizon` months.
    package func samplePaths(horizon: Int, paths: Int, generator: inout SeededGenerator) -> [[Double]] {
        switch self {
        case .ets(let model):
            return model.samplePaths(horizon: horizon, paths: paths, generator: &generator)
        case .seasonalNaive(let season, let sigma, _):
            return (0..<paths).map { _ in
                var last = season
                return (0..<horizon).map { step in
                    let value = last[step % season.count] + sigma * generator.nextGaussian()
                    last[step % season.count] = value
                    return value
                }
            }
        case .naive(let last, let sigma, _):
            return (0..<paths).map { _ in
                var value = last
                return (0..<horizon).map { _ in
                    value += sigma * generator.nextGaussian()
                    return value
                }
            }
        case .theta(let model):
            return model.samplePaths(horizon: horizon, paths: paths, generator: &generator)
        case .arima(let model):
            return model.samplePaths(horizon: horizon, paths: paths, generator: &generator)
        case .combination(let members):
            // Each member draws from the same stream, so their paths share their shocks and the mean keeps the
            // members' spread instead of averaging it away as independent draws would.
            var drawn: [[[Double]]] = []
            let start = generator
            for member in members {
                var stream = start
                drawn.append(member.samplePaths(horizon: horizon, paths: paths, generator: &stream))
                generator = stream
            }
            return (0..<paths).map { path in Self.mean(drawn.map { $0[path] }) }
        }
    }
}

package struct ForecastError: Error, CustomStringConvertible, Sendable {
    package let description: String
    package init(_ description: String) { self.description = description }
}

/// Fits and forecasts monthly series.
package struct Forecaster: Sendable {
    package var method: ForecastMethod
    package var seasonalPeriod = 12
    /// Simulated paths behind the prediction intervals.
    package var paths = 1_000
    /// Counts never go below zero: interval bounds are floored at 0 when the history has no negative value.
    package var floorAtZero = true

    package init(method: ForecastMethod = .production, seasonalPeriod: Int = 12) {
        self.method = method
        self.seasonalPeriod = seasonalPeriod
    }

    package static let minimumLength = 3

    package func fit(_ y: [Double]) throws(ForecastError) -> FittedModel {
        guard y.count >= Self.minimumLength else {
            throw ForecastError("needs at least \(Self.minimumLength) months, has \(y.count)")
        }
        guard y.allSatisfy(\.isFinite) else { throw ForecastError("has a value that is not a finite number") }
        let m = seasonalPeriod
        let varies = y.contains { $0 != y[0] }
        switch method {
        case .seasonalNaive:
            return y.count >= m ? Self.seasonalNaive(y, period: m) : Self.naive(y)
        case .ets(let spec):
            guard varies else { return Self.naive(y) }
            guard let model = ETSModel.fit(y, spec: spec, period: m) else {
                throw ForecastError(
                    "\(spec) cannot be fitted to \(y.count) months"
                        + (y.contains { $0 <= 0 } ? " with zero or negative values" : ""))
            }
            return .ets(model)
        case .theta:
            guard varies else { return Self.naive(y) }
            guard let model = ThetaModel.fit(y, period: m) else { return Self.naive(y) }
            return .theta(model)
        case .arima:
            guard varies else { return Self.naive(y) }
            guard let model = ARIMAModel.fit(y, period: m) else {
                return y.count >= m + 2 ? Self.seasonalNaive(y, period: m) : Self.naive(y)
            }
            return .arima(model)
        case .combination:
            guard varies else { return Self.naive(y) }
            var members = [try Forecaster(method: .automatic, seasonalPeriod: m).fit(y)]
            if let theta = ThetaModel.fit(y, period: m) { members.append(.theta(theta)) }
            if let arima = ARIMAModel.fit(y, period: m) { members.append(.arima(arima)) }
            return members.count == 1 ? members[0] : .combination(members)
        case .automatic:
            guard varies else { return Self.naive(y) }
            let candidates = ETSSpec.candidates(seasonal: y.count >= 2 * m + 4, positive: y.allSatisfy { $0 > 0 })
            let fits = candidates.compactMap { ETSModel.fit(y, spec: $0, period: m) }
            guard let best = fits.filter({ $0.aicc.isFinite }).min(by: { $0.aicc < $1.aicc }) else {
                return y.count >= m + 2 ? Self.seasonalNaive(y, period: m) : Self.naive(y)
            }
            return .ets(best)
        }
    }

    package func forecast(_ y: [Double], horizon: Int, seed: UInt64 = 1) throws(ForecastError) -> SeriesForecast {
        guard (1...120).contains(horizon) else {
            throw ForecastError("horizon must be 1 to 120 months, not \(horizon)")
        }
        let model = try fit(y)
        return forecast(model, horizon: horizon, seed: seed, nonNegative: floorAtZero && !y.contains { $0 < 0 })
    }

    package func forecast(_ model: FittedModel, horizon: Int, seed: UInt64, nonNegative: Bool) -> SeriesForecast {
        let mean = model.pointForecast(horizon: horizon)
        // Normal intervals of a given h-step spread, floored at zero for counts: the naive methods and Theta have
        // a closed-form spread and need no simulation.
        func gaussian(_ spread: [Double]) -> SeriesForecast {
            let bound = { (value: Double) in nonNegative ? max(0, value) : value }
            return SeriesForecast(
                model: model.name, mean: mean,
                lo80: (0..<horizon).map { bound(mean[$0] - 1.281552 * spread[$0]) },
                hi80: (0..<horizon).map { bound(mean[$0] + 1.281552 * spread[$0]) },
                lo95: (0..<horizon).map { bound(mean[$0] - 1.959964 * spread[$0]) },
                hi95: (0..<horizon).map { bound(mean[$0] + 1.959964 * spread[$0]) })
        }
        switch model {
        case .naive(_, let sigma, _), .seasonalNaive(_, let sigma, _):
            // Random walks (per calendar month for the seasonal one): σ·√k, k the steps of the walk.
            var walkLength = { (step: Int) in Double(step + 1) }
            if case .seasonalNaive(let season, _, _) = model {
                walkLength = { step in Double(step / season.count + 1) }
            }
            return gaussian((0..<horizon).map { sigma * walkLength($0).squareRoot() })
        case .theta(let theta):
            // Simple exponential smoothing's spread, σ·√(1 + α²(h − 1)), seasonally scaled.
            return gaussian((0..<horizon).map { theta.standardDeviation(step: $0 + 1) })
        case .arima(let arima):
            // The ψ-weights' spread: σ·√(Σ_{j<h} ψⱼ²).
            return gaussian((0..<horizon).map { arima.standardDeviation(step: $0 + 1) })
        case .combination(let members):
            // The members' quantiles averaged (Vincentization): the interval of a forecaster whose errors move
            // with each member's, neither narrower than its members agree nor a mixture's wider tails.
            let parts = members.map { forecast($0, horizon: horizon, seed: seed, nonNegative: nonNegative) }
            return SeriesForecast(
                model: model.name, mean: mean, lo80: FittedModel.mean(parts.map(\.lo80)),
                hi80: FittedModel.mean(parts.map(\.hi80)), lo95: FittedModel.mean(parts.map(\.lo95)),
                hi95: FittedModel.mean(parts.map(\.hi95)))
        case .ets:
            break
        }
        var generator = SeededGenerator(seed: seed)
        let draws = model.samplePaths(horizon: horizon, paths: paths, generator: &generator)
        var result = SeriesForecast(model: model.name, mean: mean, lo80: [], hi80: [], lo95: [], hi95: [])
        for step in 0..<horizon {
            let sorted = draws.map { $0[step] }.sorted()
            func quantile(_ q: Double) -> Double {
                let value = Quantile.of(sorted: sorted, q)
                return nonNegative ? max(0, value) : value
            }
            result.lo80.append(quantile(0.10))
            result.hi80.append(quantile(0.90))
            result.lo95.append(quantile(0.025))
            result.hi95.append(quantile(0.975))
        }
        return result
    }

    static func seasonalNaive(_ y: [Double], period m: Int) -> FittedModel {
        let residuals = (m..<y.count).map { y[$0] - y[$0 - m] }
        return .seasonalNaive(lastSeason: Array(y.suffix(m)), sigma: rootMeanSquare(residuals), residuals: residuals)
    }

    static func naive(_ y: [Double]) -> FittedModel {
        let residuals = (1..<y.count).map { y[$0] - y[$0 - 1] }
        return .naive(last: y[y.count - 1], sigma: rootMeanSquare(residuals), residuals: residuals)
    }

    static func rootMeanSquare(_ values: [Double]) -> Double {
        values.isEmpty ? 0 : (values.map { $0 * $0 }.reduce(0, +) / Double(values.count)).squareRoot()
    }
}

package enum Quantile {
    /// Linear interpolation between order statistics (type 7, R's default).
    package static func of(sorted values: [Double], _ q: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        let position = q * Double(values.count - 1)
        let lower = Int(position.rounded(.down))
        let upper = min(lower + 1, values.count - 1)
        return values[lower] + (position - Double(lower)) * (values[upper] - values[lower])
    }
}
