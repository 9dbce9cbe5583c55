import Domain
import Foundation

/// The components of an exponential-smoothing state-space model (Hyndman, Koehler, Ord & Snyder 2008),
/// written ETS(error, trend, season): e.g. ETS(M,Ad,M).
package struct ETSSpec: Hashable, Sendable, CustomStringConvertible {
    package enum Error: String, Sendable, CaseIterable {
        case additive = "A"
        case multiplicative = "M"
    }
    package enum Trend: String, Sendable, CaseIterable {
        case none = "N"
        case additive = "A"
        case damped = "Ad"
    }
    package enum Season: String, Sendable, CaseIterable {
        case none = "N"
        case additive = "A"
        case multiplicative = "M"
    }

    package let error: Error
    package let trend: Trend
    package let season: Season

    package init(_ error: Error, _ trend: Trend, _ season: Season) {
        self.error = error
        self.trend = trend
        self.season = season
    }

    /// Parses `ANN`, `AAdM`, `ETS(M,A,N)` and the like; anything else (empty, too short, unknown letters) is nil.
    package init?(_ text: String) {
        var letters = Substring(text.uppercased().replacingOccurrences(of: "ETS", with: "").filter { $0.isLetter })
        guard let errorLetter = letters.popFirst(), let error = Error(rawValue: String(errorLetter)),
            let trendLetter = letters.popFirst()
        else { return nil }
        var trendText = String(trendLetter)
        if letters.first == "D", letters.popFirst() != nil { trendText += "d" }
        guard let trend = Trend(rawValue: trendText), letters.count == 1, let season = Season(rawValue: String(letters))
        else { return nil }
        self.init(error, trend, season)
    }

    package var description: String { "ETS(\(error.rawValue),\(trend.rawValue),\(season.rawValue))" }

    /// The models tried for a series: additive error with multiplicative seasonality is left out (numerically
    /// unstable, as in Hyndman's `ets`), and so is anything multiplicative unless the data are strictly positive.
    package static func candidates(seasonal: Bool, positive: Bool) -> [ETSSpec] {
        var result: [ETSSpec] = []
        for error in Error.allCases where error == .additive || positive {
            for trend in Trend.allCases {
                for season in Season.allCases {
                    if season != .none, !seasonal { continue }
                    if season == .multiplicative, error == .additive || !positive { continue }
                    result.append(ETSSpec(error, trend, season))
                }
            }
        }
        return result
    }
}

/// Smoothing parameters; β only with a trend, γ only with a season, φ only when damped.
package struct ETSParameters: Sendable, Hashable {
    package var alpha: Double
    package var beta: Double
    package var gamma: Double
    package var phi: Double

    package init(alpha: Double, beta: Double = 0, gamma: Double = 0, phi: Double = 1) {
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
        self.phi = phi
    }
}

/// Level, trend and the last `m` seasonal states; `seasonal[0]` is the one the next month uses.
package struct ETSState: Sendable, Hashable {
    package var level: Double
    package var trend: Double
    package var seasonal: [Double]
}

/// An ETS model fitted to one series by maximum likelihood.
package struct ETSModel: Sendable {
    package let spec: ETSSpec
    package let period: Int
    package let parameters: ETSParameters
    package let initialState: ETSState
    package let finalState: ETSState
    /// Variance of the innovations: absolute for additive error, relative for multiplicative.
    package let sigma2: Double
    /// One-step in-sample errors y − ŷ in the data's units.
    package let residuals: [Double]
    package let aicc: Double
    package let parameterCount: Int

    /// Fits one model: heuristic initial seasonal states, then α, β, γ, φ, ℓ₀ and b₀ by Nelder–Mead on the
    /// likelihood. Nil when the series is too short for the model or no admissible fit exists.
    package static func fit(_ y: [Double], spec: ETSSpec, period: Int = 12) -> ETSModel? {
        let n = y.count
        let seasonal = spec.season != .none
        let m = seasonal ? period : 1
        let k =
            1 + (spec.trend != .none ? 1 : 0) + (seasonal ? 1 : 0) + (spec.trend == .damped ? 1 : 0)  // smoothing
            + 1 + (spec.trend != .none ? 1 : 0) + (seasonal ? m - 1 : 0)  // initial states
            + 1  // σ
        guard n - k - 1 > 0, !seasonal || n >= 2 * m else { return nil }
        if spec.error == .multiplicative || spec.season == .multiplicative, y.contains(where: { $0 <= 0 }) {
            return nil
        }
        guard let start = initialStates(y, spec: spec, period: m) else { return nil }

        let usesBeta = spec.trend != .none
        let usesGamma = seasonal
        let usesPhi = spec.trend == .damped
        func unpack(_ x: [Double]) -> (ETSParameters, ETSState) {
            var index = 0
            func next() -> Double {
                defer { index += 1 }
                return x[index]
            }
            var parameters = ETSParameters(alpha: next())
            if usesBeta { parameters.beta = next() }
            if usesGamma { parameters.gamma = next() }
            if usesPhi { parameters.phi = next() }
            var state = start
            state.level = next()
            if usesBeta { state.trend = next() }
            return (parameters, state)
        }
        func admissible(_ p: ETSParameters) -> Bool {
            guard p.alpha > 1e-4, p.alpha < 0.9999 else { return false }
            if usesBeta, !(p.beta > 1e-4 && p.beta < p.alpha) { return false }
            if usesGamma, !(p.gamma > 1e-4 && p.gamma < 1 - p.alpha) { return false }
            if usesPhi, !(p.phi >= 0.8 && p.phi <= 0.98) { return false }
            return true
        }
        let objective: ([Double]) -> Double = { x in
            let (parameters, state) = unpack(x)
            guard admissible(parameters) else { return .infinity }
            return Filter.run(y, spec: spec, parameters: parameters, state: state, period: m).criterion
        }
        var x0 = [0.2]
        var steps = [0.1]
        if usesBeta {
            x0.append(0.02)
            steps.append(0.02)
        }
        if usesGamma {
            x0.append(0.05)
            steps.append(0.05)
        }
        if usesPhi {
            x0.append(0.95)
            steps.append(-0.05)
        }
        let scale = max(abs(start.level), y.map(abs).max() ?? 1, 1e-6)
        x0.append(start.level)
        steps.append(0.05 * scale)
        if usesBeta {
            x0.append(start.trend)
            steps.append(0.01 * scale)
        }
        var best = NelderMead().minimize(objective, start: x0, steps: steps)
        // A restart from the optimum escapes the premature collapses Nelder–Mead is known for.
        best = NelderMead(maxEvaluations: 1_000).minimize(objective, start: best.point, steps: steps.map { $0 * 0.5 })
        guard best.value.isFinite else { return nil }
        let (parameters, state) = unpack(best.point)
        let run = Filter.run(y, spec: spec, parameters: parameters, state: state, period: m)
        let aic = run.criterion + Double(n) * (log(2 * Double.pi / Double(n)) + 1) + 2 * Double(k)
        let aicc = aic + 2 * Double(k) * Double(k + 1) / Double(n - k - 1)
        let dof = max(1, n - (k - 1))
        return ETSModel(
            spec: spec, period: m, parameters: parameters, initialState: state, finalState: run.state,
            sigma2: run.sumSquaredErrors / Double(dof), residuals: run.residuals, aicc: aicc, parameterCount: k)
    }

    /// Point forecasts for months 1…h ahead.
    package func forecast(horizon: Int) -> [Double] {
        var result: [Double] = []
        var damping = 0.0
        var power = 1.0
        for h in 1...max(1, horizon) {
            power *= spec.trend == .damped ? parameters.phi : 1
            damping += spec.trend == .damped ? power : 1
            let trendPart = finalState.level + (spec.trend == .none ? 0 : damping * finalState.trend)
            let s = spec.season == .none ? 0 : finalState.seasonal[(h - 1) % period]
            switch spec.season {
            case .none: result.append(trendPart)
            case .additive: result.append(trendPart + s)
            case .multiplicative: result.append(trendPart * s)
            }
        }
        return Array(result.prefix(horizon))
    }

    /// Future paths drawn from the model with Gaussian innovations: `paths` rows of `horizon` months.
    package func samplePaths(horizon: Int, paths: Int, generator: inout SeededGenerator) -> [[Double]] {
        let sigma = sigma2.squareRoot()
        return (0..<paths).map { _ in
            var state = finalState
            var path: [Double] = []
            path.reserveCapacity(horizon)
            for _ in 0..<horizon {
                let mean = Filter.oneStep(state, spec: spec, parameters: parameters)
                let error =
                    spec.error == .additive ? sigma * generator.nextGaussian() : mean * sigma * generator.nextGaussian()
                path.append(mean + error)
                Filter.update(&state, error: error, spec: spec, parameters: parameters)
            }
            return path
        }
    }

    /// Heuristic starting states (Hyndman et al. 2008, §2.6.1): seasonal indices from a 2×m moving average of
    /// the first years, level and slope from a line through the first ten seasonally adjusted months.
    static func initialStates(_ y: [Double], spec: ETSSpec, period m: Int) -> ETSState? {
        var indices = [Double](repeating: spec.season == .multiplicative ? 1 : 0, count: m)
        if spec.season != .none {
            let span = Array(y.prefix(min(y.count, 3 * m)))
            let half = m / 2
            var sums = [Double](repeating: 0, count: m)
            var counts = [Double](repeating: 0, count: m)
            for t in half..<(span.count - half) {
                var average = 0.0
                for j in -half...half {
                    let weight = (j == -half || j == half) ? 0.5 : 1
                    average += weight * span[t + j]
                }
                average /= Double(m)
                if spec.season == .multiplicative {
                    guard average > 0 else { return nil }
                    sums[t % m] += span[t] / average
                } else {
                    sums[t % m] += span[t] - average
                }
                counts[t % m] += 1
            }
            guard counts.allSatisfy({ $0 > 0 }) else { return nil }
            indices = zip(sums, counts).map { $0 / $1 }
            if spec.season == .multiplicative {
                let mean = indices.reduce(0, +) / Double(m)
                guard mean > 0 else { return nil }
                indices = indices.map { $0 / mean }
            } else {
                let mean = indices.reduce(0, +) / Double(m)
                indices = indices.map { $0 - mean }
            }
        }
        let head = min(y.count, 10)
        let adjusted = (0..<head).map { t in
            switch spec.season {
            case .none: y[t]
            case .additive: y[t] - indices[t % m]
            case .multiplicative: y[t] / indices[t % m]
            }
        }
        let meanT = Double(head + 1) / 2
        let meanY = adjusted.reduce(0, +) / Double(head)
        var sxy = 0.0
        var sxx = 0.0
        for (index, value) in adjusted.enumerated() {
            sxy += (Double(index + 1) - meanT) * (value - meanY)
            sxx += (Double(index + 1) - meanT) * (Double(index + 1) - meanT)
        }
        let slope = sxx > 0 ? sxy / sxx : 0
        let level = spec.trend == .none ? meanY : meanY - slope * meanT
        return ETSState(level: level, trend: spec.trend == .none ? 0 : slope, seasonal: indices)
    }
}

/// The recursions shared by fitting and simulation, in error-correction form with ε = y − ŷ
/// (the same state updates serve additive and multiplicative error; only the likelihood differs).
enum Filter {
    struct Run {
        var criterion: Double
        var sumSquaredErrors: Double
        var residuals: [Double]
        var state: ETSState
    }

    @inline(__always)
    static func oneStep(_ state: ETSState, spec: ETSSpec, parameters: ETSParameters) -> Double {
        let trendPart = state.level + trendContribution(state, spec: spec, parameters: parameters)
        switch spec.season {
        case .none: return trendPart
        case .additive: return trendPart + state.seasonal[0]
        case .multiplicative: return trendPart * state.seasonal[0]
        }
    }

    @inline(__always)
    static func trendContribution(_ state: ETSState, spec: ETSSpec, parameters: ETSParameters) -> Double {
        switch spec.trend {
        case .none: 0
        case .additive: state.trend
        case .damped: parameters.phi * state.trend
        }
    }

    @inline(__always)
    static func update(_ state: inout ETSState, error e: Double, spec: ETSSpec, parameters p: ETSParameters) {
        let damped = trendContribution(state, spec: spec, parameters: p)
        let base = state.level + damped
        var newSeason = 0.0
        switch spec.season {
        case .none:
            state.level = base + p.alpha * e
            state.trend = damped + p.beta * e
        case .additive:
            state.level = base + p.alpha * e
            state.trend = damped + p.beta * e
            newSeason = state.seasonal[0] + p.gamma * e
        case .multiplicative:
            let s = state.seasonal[0]
            state.level = base + p.alpha * e / s
            state.trend = damped + p.beta * e / s
            newSeason = s + p.gamma * e / base
        }
        if spec.season != .none {
            state.seasonal.removeFirst()
            state.seasonal.append(newSeason)
        }
    }

    /// Runs the model through the data. `criterion` is −2 log-likelihood up to a constant:
    /// n·log Σε² for additive error, n·log Σ(ε/ŷ)² + 2·Σ log|ŷ| for multiplicative.
    static func run(_ y: [Double], spec: ETSSpec, parameters: ETSParameters, state initial: ETSState, period: Int)
        -> Run
    {
        var state = initial
        var sumSquares = 0.0
        var logMeans = 0.0
        var residuals: [Double] = []
        residuals.reserveCapacity(y.count)
        for value in y {
            let mean = oneStep(state, spec: spec, parameters: parameters)
            let error = value - mean
            if spec.error == .multiplicative {
                guard mean > 0 else {
                    return Run(criterion: .infinity, sumSquaredErrors: .infinity, residuals: [], state: state)
                }
                sumSquares += (error / mean) * (error / mean)
                logMeans += log(mean)
            } else {
                sumSquares += error * error
            }
            residuals.append(error)
            update(&state, error: error, spec: spec, parameters: parameters)
            if spec.season == .multiplicative, state.seasonal.last.map({ $0 <= 0 }) == true {
                return Run(criterion: .infinity, sumSquaredErrors: .infinity, residuals: [], state: state)
            }
            if !state.level.isFinite {
                return Run(criterion: .infinity, sumSquaredErrors: .infinity, residuals: [], state: state)
            }
        }
        let n = Double(y.count)
        let floor = 1e-12 * max(1, y.map { $0 * $0 }.reduce(0, +))
        let criterion = n * log(max(sumSquares, floor)) + 2 * logMeans
        return Run(criterion: criterion, sumSquaredErrors: sumSquares, residuals: residuals, state: state)
    }
}
