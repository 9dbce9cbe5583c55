import Domain
import Foundation

/// The standard Theta method (Assimakopoulos & Nikolopoulos 2000), in the form Hyndman & Billah (2003) showed it
/// to be: simple exponential smoothing with a drift of half the slope of the series' linear trend. As in the M3
/// competition (and R's `forecast::thetaf`), a series is first seasonally adjusted by classical decomposition
/// when a 90% test on its autocorrelation at lag m finds seasonality: multiplicative for positive series,
/// additive otherwise (counts of small units have zeros).
package struct ThetaModel: Sendable {
    /// Simple exponential smoothing, ETS(A,N,N), on the seasonally adjusted series.
    package let smoothing: ETSModel
    /// Half the slope of the least-squares line through the adjusted series.
    package let drift: Double
    /// Months of history.
    package let length: Int
    /// One index per month of the season, for month t at `seasonal[t % period]`; nil when not seasonal.
    package let seasonal: [Double]?
    package let multiplicative: Bool
    package let period: Int
    package let residuals: [Double]

    package var sigma: Double { smoothing.sigma2.squareRoot() }
    package var alpha: Double { smoothing.parameters.alpha }

    /// Nil when even simple exponential smoothing cannot be fitted (fewer than three months).
    package static func fit(_ y: [Double], period m: Int = 12) -> ThetaModel? {
        let n = y.count
        let positive = y.allSatisfy { $0 > 0 }
        var seasonal: [Double]?
        if m > 1, n >= 2 * m, isSeasonal(y, period: m) {
            seasonal = classicalSeasonalIndices(y, period: m, multiplicative: positive)
        }
        let adjusted = (0..<n).map { t in adjust(y[t], index: seasonal?[t % m], multiplicative: positive) }
        guard let smoothing = ETSModel.fit(adjusted, spec: ETSSpec(.additive, .none, .none), period: m) else {
            return nil
        }
        let drift = slope(adjusted) / 2
        // One-step errors on the original scale: the adjusted series' errors with the season put back (the
        // smoothing's errors are aligned to the end of the series).
        let offset = n - smoothing.residuals.count
        let residuals = smoothing.residuals.enumerated().map { i, error in
            guard let seasonal, positive else { return error }
            return error * seasonal[(offset + i) % m]
        }
        return ThetaModel(
            smoothing: smoothing, drift: drift, length: n, seasonal: seasonal, multiplicative: positive, period: m,
            residuals: residuals)
    }

    /// ŷ(n+h) = ℓₙ + b/2 · ((h − 1) + (1 − (1 − α)ⁿ)/α), seasonally restored.
    package func forecast(horizon: Int) -> [Double] {
        guard horizon > 0 else { return [] }
        let level = smoothing.finalState.level
        return (1...horizon).map { h in
            Self.restore(
                level + drift * driftSteps(h), index: seasonal?[(length + h - 1) % period],
                multiplicative: multiplicative)
        }
    }

    /// The drift's multiplier h steps ahead; n when α is 0 (the limit of (1 − (1 − α)ⁿ)/α).
    func driftSteps(_ h: Int) -> Double {
        let a = alpha
        let start = a < 1e-9 ? Double(length) : (1 - pow(1 - a, Double(length))) / a
        return Double(h - 1) + start
    }

    /// The h-step standard deviation of simple exponential smoothing, σ·√(1 + α²(h − 1)), on the original scale.
    package func standardDeviation(step h: Int) -> Double {
        let spread = sigma * (1 + alpha * alpha * Double(h - 1)).squareRoot()
        guard let seasonal, multiplicative else { return spread }
        return spread * seasonal[(length + h - 1) % period]
    }

    /// Future paths of the smoothing's state space with the drift added, seasonally restored.
    package func samplePaths(horizon: Int, paths: Int, generator: inout SeededGenerator) -> [[Double]] {
        guard horizon > 0 else { return Array(repeating: [], count: paths) }
        let start = smoothing.finalState.level
        return (0..<paths).map { _ in
            var level = start
            return (1...horizon).map { h in
                let shock = sigma * generator.nextGaussian()
                let value = level + drift * driftSteps(h) + shock
                level += alpha * shock
                return Self.restore(value, index: seasonal?[(length + h - 1) % period], multiplicative: multiplicative)
            }
        }
    }

    /// |r_m| over its standard error under no seasonality, √((1 + 2 Σ_{k<m} r_k²)/n), above the 90% normal quantile.
    static func isSeasonal(_ y: [Double], period m: Int) -> Bool {
        let n = Double(y.count)
        let mean = y.reduce(0, +) / n
        let centred = y.map { $0 - mean }
        let variance = centred.reduce(0) { $0 + $1 * $1 }
        guard variance > 0 else { return false }
        func autocorrelation(_ k: Int) -> Double {
            (k..<centred.count).reduce(0) { $0 + centred[$1] * centred[$1 - k] } / variance
        }
        let r = (1...m).map(autocorrelation)
        let error = ((1 + 2 * r.dropLast().reduce(0) { $0 + $1 * $1 }) / n).squareRoot()
        return abs(r[m - 1]) / error > 1.644854
    }

    /// Classical decomposition's seasonal indices: the series over (or minus) its centred 2×m moving average,
    /// averaged per month of the season and normalised to mean 1 (or 0).
    static func classicalSeasonalIndices(_ y: [Double], period m: Int, multiplicative: Bool) -> [Double] {
        let half = m / 2
        var sums = [Double](repeating: 0, count: m)
        var counts = [Double](repeating: 0, count: m)
        for t in half..<(y.count - half) {
            var trend: Double
            if m % 2 == 0 {
                trend = (y[t - half] + y[t + half]) / 2
                for k in (t - half + 1)..<(t + half) { trend += y[k] }
            } else {
                trend = y[(t - half)...(t + half)].reduce(0, +)
            }
            trend /= Double(m)
            guard !multiplicative || trend > 0 else { continue }
            sums[t % m] += multiplicative ? y[t] / trend : y[t] - trend
            counts[t % m] += 1
        }
        var indices = (0..<m).map { counts[$0] > 0 ? sums[$0] / counts[$0] : (multiplicative ? 1 : 0) }
        let mean = indices.reduce(0, +) / Double(m)
        indices = indices.map { multiplicative ? ($0 / (mean == 0 ? 1 : mean)) : $0 - mean }
        return indices
    }

    static func adjust(_ value: Double, index: Double?, multiplicative: Bool) -> Double {
        guard let index else { return value }
        return multiplicative ? value / index : value - index
    }

    static func restore(_ value: Double, index: Double?, multiplicative: Bool) -> Double {
        guard let index else { return value }
        return multiplicative ? value * index : value + index
    }

    /// Least-squares slope against time 0…n−1.
    static func slope(_ y: [Double]) -> Double {
        let n = Double(y.count)
        guard n > 1 else { return 0 }
        let meanT = (n - 1) / 2
        let meanY = y.reduce(0, +) / n
        var numerator = 0.0
        var denominator = 0.0
        for (t, value) in y.enumerated() {
            numerator += (Double(t) - meanT) * (value - meanY)
            denominator += (Double(t) - meanT) * (Double(t) - meanT)
        }
        return numerator / denominator
    }
}
