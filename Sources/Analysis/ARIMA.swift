import Domain
import Foundation

/// A seasonal ARIMA(p,d,q)(P,D,Q)m, chosen automatically in the manner of Hyndman & Khandakar (2008): the seasonal
/// difference when the series is seasonal (the 90% autocorrelation test Theta uses, on the first differences when
/// the series is not stationary), then first differences while
/// a KPSS test at 5% rejects stationarity; among p, q ≤ 2 and P, Q ≤ 1 the orders with the smallest AICc, each
/// fitted by conditional sum of squares (Nelder–Mead), with a constant (a drift, after one difference) when at most
/// one difference is taken. Forecasts run the recursion forward; intervals come from the model's ψ-weights.
package struct ARIMAModel: Sendable {
    package struct Orders: Sendable, Hashable, CustomStringConvertible {
        package let p: Int
        package let d: Int
        package let q: Int
        package let seasonalP: Int
        package let seasonalD: Int
        package let seasonalQ: Int
        package let period: Int

        package var description: String {
            seasonalP + seasonalD + seasonalQ == 0
                ? "ARIMA(\(p),\(d),\(q))" : "ARIMA(\(p),\(d),\(q))(\(seasonalP),\(seasonalD),\(seasonalQ))[\(period)]"
        }
    }

    package let orders: Orders
    /// Coefficients of the expanded AR and MA polynomials on the differenced series: w_t − μ = Σ ar_i (w_{t−i} − μ)
    /// + e_t + Σ ma_j e_{t−j}.
    let ar: [Double]
    let ma: [Double]
    /// The differenced series' mean (a drift on the original scale after one difference); 0 without a constant.
    let mean: Double
    package let sigma2: Double
    package let aicc: Double
    /// The history, and the differencing polynomial's coefficients: y_t = w_t + Σ δ_i y_{t−i}.
    let history: [Double]
    let differencing: [Double]
    /// The differenced history and its in-sample errors.
    let differenced: [Double]
    let errors: [Double]

    /// One-step in-sample errors, aligned to the end of the series.
    package var residuals: [Double] { errors }

    /// The best model by AICc, or nil when the series is too short for any (fewer than 2m + 4 months with a season,
    /// 8 without, after differencing).
    package static func fit(_ y: [Double], period m: Int = 12) -> ARIMAModel? {
        guard y.count >= 8, y.allSatisfy(\.isFinite) else { return nil }
        // A trend makes every lag's autocorrelation high, lag m's too: the season is looked for in the changes of a
        // series that is not stationary.
        let trendFree = Self.kpssStationary(y) ? y : Self.difference(y, lag: 1, times: 1)
        let seasonalD = m > 1 && y.count >= 3 * m && ThetaModel.isSeasonal(trendFree, period: m) ? 1 : 0
        var d = 0
        var series = Self.difference(y, lag: m, times: seasonalD)
        while d < 2, series.count > 8, !Self.kpssStationary(series) {
            series = Self.difference(series, lag: 1, times: 1)
            d += 1
        }
        let seasonalOrders = m > 1 && series.count >= 2 * m + 4 ? [0, 1] : [0]
        var best: ARIMAModel?
        for p in 0...2 {
            for q in 0...2 {
                for seasonalP in seasonalOrders {
                    for seasonalQ in seasonalOrders {
                        let orders = Orders(
                            p: p, d: d, q: q, seasonalP: seasonalP, seasonalD: seasonalD, seasonalQ: seasonalQ,
                            period: m)
                        guard let model = fit(y, orders: orders), model.aicc.isFinite else { continue }
                        if best.map({ model.aicc < $0.aicc }) ?? true { best = model }
                    }
                }
            }
        }
        return best
    }

    /// Fits the given orders by conditional sum of squares; nil when there are too few months to estimate them.
    package static func fit(_ y: [Double], orders: Orders) -> ARIMAModel? {
        let m = orders.period
        let differencing = Self.differencingPolynomial(d: orders.d, seasonalD: orders.seasonalD, period: m)
        let w = Self.difference(Self.difference(y, lag: m, times: orders.seasonalD), lag: 1, times: orders.d)
        let withConstant = orders.d + orders.seasonalD <= 1
        let count = orders.p + orders.q + orders.seasonalP + orders.seasonalQ + (withConstant ? 1 : 0)
        let start = orders.p + orders.seasonalP * m
        guard w.count - start > count + 2 else { return nil }
        let average = w.reduce(0, +) / Double(w.count)

        func unpack(_ x: [Double]) -> (ar: [Double], ma: [Double], mean: Double)? {
            var index = 0
            func next(_ n: Int) -> [Double] {
                defer { index += n }
                return Array(x[index..<(index + n)])
            }
            let phi = next(orders.p)
            let theta = next(orders.q)
            let seasonalPhi = next(orders.seasonalP)
            let seasonalTheta = next(orders.seasonalQ)
            let mean = withConstant ? x[index] : 0
            guard Self.stationary(phi), Self.stationary(seasonalPhi), Self.invertible(theta),
                Self.invertible(seasonalTheta)
            else { return nil }
            let ar = Self.multiply(phi, seasonalPhi, period: m)
            let ma = Self.multiply(theta.map { -$0 }, seasonalTheta.map { -$0 }, period: m).map { -$0 }
            return (ar, ma, mean)
        }
        func sumOfSquares(_ x: [Double]) -> Double {
            guard let (ar, ma, mean) = unpack(x) else { return .infinity }
            let errors = Self.errors(w, ar: ar, ma: ma, mean: mean, start: start)
            let total = errors.reduce(0) { $0 + $1 * $1 }
            return total.isFinite ? total : .infinity
        }
        var initial = [Double](repeating: 0, count: count)
        if withConstant { initial[count - 1] = average }
        let scale = max(1e-6, (w.map { abs($0 - average) }.reduce(0, +) / Double(w.count)))
        let point: [Double]
        if count == 0 {
            point = []
        } else {
            var steps = [Double](repeating: 0.1, count: count)
            if withConstant { steps[count - 1] = scale * 0.1 }
            var optimizer = NelderMead()
            optimizer.maxEvaluations = 400 * count
            point = optimizer.minimize(sumOfSquares, start: initial, steps: steps).point
        }
        guard let (ar, ma, mean) = unpack(point) else { return nil }
        let errors = Self.errors(w, ar: ar, ma: ma, mean: mean, start: start)
        let used = Array(errors.dropFirst(start))
        let n = Double(used.count)
        let sse = used.reduce(0) { $0 + $1 * $1 }
        guard n > Double(count + 2), sse.isFinite else { return nil }
        let sigma2 = max(sse / n, 1e-12)
        let k = Double(count + 1)
        let logLikelihood = -n / 2 * (log(2 * Double.pi * sigma2) + 1)
        let aicc = -2 * logLikelihood + 2 * k + 2 * k * (k + 1) / max(1, n - k - 1)
        return ARIMAModel(
            orders: orders, ar: ar, ma: ma, mean: mean, sigma2: sse / max(1, n - Double(count)), aicc: aicc,
            history: y, differencing: differencing, differenced: w, errors: used)
    }

    /// Point forecasts: the differenced series' recursion run on with future errors 0, then integrated.
    package func forecast(horizon: Int) -> [Double] {
        guard horizon > 0 else { return [] }
        var w = differenced
        var e = [Double](repeating: 0, count: w.count - errors.count) + errors
        var y = history
        for _ in 0..<horizon {
            var next = mean
            for (i, coefficient) in ar.enumerated() where w.count - 1 - i >= 0 {
                next += coefficient * (w[w.count - 1 - i] - mean)
            }
            for (j, coefficient) in ma.enumerated() where e.count - 1 - j >= 0 {
                next += coefficient * e[e.count - 1 - j]
            }
            w.append(next)
            e.append(0)
            var level = next
            for (i, coefficient) in differencing.enumerated() where y.count - 1 - i >= 0 {
                level += coefficient * y[y.count - 1 - i]
            }
            y.append(level)
        }
        return Array(y.suffix(horizon))
    }

    /// ψ₀ … ψ_{h−1} of the model on the original scale, differencing included: y's h-step error is Σ ψ_j ε_{h−j}.
    package func psiWeights(_ horizon: Int) -> [Double] {
        // The full autoregression: 1 − Σ φ*_i Bⁱ = (1 − Σ ar_i Bⁱ)(1 − Σ δ_i Bⁱ).
        let full = Self.multiplyPolynomials(ar, differencing)
        var psi = [1.0]
        for j in 1..<max(1, horizon) {
            var value = j - 1 < ma.count ? ma[j - 1] : 0
            for i in 1...j where i - 1 < full.count { value += full[i - 1] * psi[j - i] }
            psi.append(value)
        }
        return Array(psi.prefix(horizon))
    }

    package func standardDeviation(step h: Int) -> Double {
        (sigma2 * psiWeights(h).reduce(0) { $0 + $1 * $1 }).squareRoot()
    }

    package func samplePaths(horizon: Int, paths: Int, generator: inout SeededGenerator) -> [[Double]] {
        let mean = forecast(horizon: horizon)
        let psi = psiWeights(horizon)
        let sigma = sigma2.squareRoot()
        return (0..<paths).map { _ in
            let shocks = (0..<horizon).map { _ in sigma * generator.nextGaussian() }
            return (0..<horizon).map { h in
                mean[h] + (0...h).reduce(0) { $0 + psi[$1] * shocks[h - $1] }
            }
        }
    }

    // MARK: - Pieces

    static func errors(_ w: [Double], ar: [Double], ma: [Double], mean: Double, start: Int) -> [Double] {
        var e = [Double](repeating: 0, count: w.count)
        for t in start..<w.count {
            var predicted = mean
            for (i, coefficient) in ar.enumerated() where t - 1 - i >= 0 {
                predicted += coefficient * (w[t - 1 - i] - mean)
            }
            for (j, coefficient) in ma.enumerated() where t - 1 - j >= 0 {
                predicted += coefficient * e[t - 1 - j]
            }
            e[t] = w[t] - predicted
        }
        return e
    }

    /// (1 − Σ aᵢBⁱ)(1 − Σ bⱼB^{jm}) as 1 − Σ cₖBᵏ; returns c.
    static func multiply(_ a: [Double], _ b: [Double], period m: Int) -> [Double] {
        let seasonal = b.enumerated().reduce(into: [Double](repeating: 0, count: b.count * m)) {
            $0[($1.offset + 1) * m - 1] = $1.element
        }
        return multiplyPolynomials(a, seasonal)
    }

    /// (1 − Σ aᵢBⁱ)(1 − Σ bⱼBʲ) as 1 − Σ cₖBᵏ; returns c.
    static func multiplyPolynomials(_ a: [Double], _ b: [Double]) -> [Double] {
        let full = [1.0] + a.map { -$0 }
        let other = [1.0] + b.map { -$0 }
        var product = [Double](repeating: 0, count: full.count + other.count - 1)
        for (i, x) in full.enumerated() {
            for (j, y) in other.enumerated() { product[i + j] += x * y }
        }
        return product.dropFirst().map { -$0 }
    }

    /// (1 − B)^d (1 − B^m)^D as 1 − Σ δᵢBⁱ; returns δ.
    static func differencingPolynomial(d: Int, seasonalD: Int, period m: Int) -> [Double] {
        var result: [Double] = []
        for _ in 0..<d { result = multiplyPolynomials(result, [1]) }
        for _ in 0..<seasonalD { result = multiply(result, [1], period: m) }
        return result
    }

    static func difference(_ y: [Double], lag: Int, times: Int) -> [Double] {
        var result = y
        for _ in 0..<times where result.count > lag {
            result = (lag..<result.count).map { result[$0] - result[$0 - lag] }
        }
        return result
    }

    /// AR(1) or AR(2) coefficients whose polynomial has its roots outside the unit circle (a triangle for AR(2)).
    static func stationary(_ phi: [Double]) -> Bool {
        switch phi.count {
        case 0: return true
        case 1: return abs(phi[0]) < 0.99
        default: return abs(phi[1]) < 0.99 && phi[1] + phi[0] < 0.99 && phi[1] - phi[0] < 0.99
        }
    }

    /// MA(1) or MA(2) of the form 1 + θ₁B + θ₂B², invertible.
    static func invertible(_ theta: [Double]) -> Bool {
        switch theta.count {
        case 0: return true
        case 1: return abs(theta[0]) < 0.99
        default: return abs(theta[1]) < 0.99 && theta[1] + theta[0] > -0.99 && theta[1] - theta[0] > -0.99
        }
    }

    /// The KPSS test of level stationarity (Kwiatkowski et al. 1992) at 5%: the partial sums' statistic against
    /// 0.463, with a Newey–West long-run variance of ⌊3√n/13⌋ lags (as R's `tseries`/`urca` "short").
    static func kpssStationary(_ y: [Double]) -> Bool {
        let n = y.count
        let mean = y.reduce(0, +) / Double(n)
        let e = y.map { $0 - mean }
        var partial = 0.0
        var sumOfSquares = 0.0
        for value in e {
            partial += value
            sumOfSquares += partial * partial
        }
        let lags = Int(3 * Double(n).squareRoot() / 13)
        var variance = e.reduce(0) { $0 + $1 * $1 } / Double(n)
        if lags > 0 {
            for lag in 1...lags {
                let covariance = (lag..<n).reduce(0) { $0 + e[$1] * e[$1 - lag] } / Double(n)
                variance += 2 * (1 - Double(lag) / Double(lags + 1)) * covariance
            }
        }
        guard variance > 0 else { return true }
        return sumOfSquares / (Double(n) * Double(n) * variance) < 0.463
    }
}
