// The matrices keep the names of the MinT papers (Wickramasuriya, Athanasopoulos & Hyndman 2019): S, T, E, U,
// W, C, as the formulas are written there, so that the code can be read beside them.
// swift-format-ignore-file: AlwaysUseLowerCamelCase

/// How base forecasts are made coherent across a hierarchy.
package enum ReconciliationMethod: String, Sendable, CaseIterable {
    /// Forecast the leaves, add them up.
    case bottomUp = "bottom-up"
    /// Minimum trace with a shrinkage estimate of the one-step error covariance (Wickramasuriya,
    /// Athanasopoulos & Hyndman 2019), shrinkage intensity after Schäfer & Strimmer (2005).
    case minTShrink = "mint-shrink"
}

package struct ReconciledForecasts: Sendable {
    package var forecasts: [String: SeriesForecast]
    /// The shrinkage intensity λ chosen for MinT, nil for bottom-up.
    package var shrinkage: Double?
}

/// Reconciles base forecasts: every node's reconciled mean is exactly the sum of its children's.
///
/// MinT is computed in its projection form ỹ = ŷ − W·Cᵀ(C·W·Cᵀ)⁻¹·C·ŷ, where C holds one row per aggregate
/// (the aggregate minus its children), and W = λ·diag(Ŵ) + (1−λ)·Ŵ with Ŵ = EᵀE/T from the T×n matrix E of
/// one-step residuals. Ŵ is never formed: W·Cᵀ and C·W·Cᵀ come from E·Cᵀ (T×k), so the cost grows with the
/// number of series times T and with k², k being the number of aggregates, not with n².
package enum Reconciler {
    static let z80 = 1.281552
    static let z95 = 1.959964

    package static func reconcile(
        base: [String: SeriesForecast], residuals: [String: [Double]], hierarchy: Hierarchy,
        method: ReconciliationMethod, nonNegative: Set<String> = []
    ) throws(ForecastError) -> ReconciledForecasts {
        let nodes = hierarchy.nodes
        for node in nodes where base[node] == nil { throw ForecastError("no base forecast for '\(node)'") }
        let horizon = base[nodes[0]]?.horizon ?? 0
        guard nodes.allSatisfy({ base[$0]?.horizon == horizon }) else {
            throw ForecastError("base forecasts differ in horizon")
        }
        let index = Dictionary(uniqueKeysWithValues: nodes.enumerated().map { ($1, $0) })
        let n = nodes.count
        let T = max(1, nodes.map { residuals[$0]?.count ?? 0 }.max() ?? 1)
        // E (T×n), residuals aligned at the end; months a series has no residual for count as 0.
        var E = [Double](repeating: 0, count: T * n)
        for (column, node) in nodes.enumerated() {
            let values = residuals[node] ?? []
            for (offset, value) in values.enumerated() where value.isFinite {
                E[(T - values.count + offset) * n + column] = value
            }
        }
        var variance = [Double](repeating: 0, count: n)
        for t in 0..<T { for i in 0..<n { variance[i] += E[t * n + i] * E[t * n + i] } }
        variance = variance.map { $0 / Double(T) }
        let meanVariance = variance.reduce(0, +) / Double(n)
        let floor = 1e-9 * max(meanVariance, 1)
        let target = variance.map { max($0, floor) }
        let lambda = shrinkageIntensity(E, T: T, n: n, target: target)

        var reconciledLeafMeans: [[String: Double]] = Array(repeating: [:], count: horizon)
        var sd: [[Double]] = Array(repeating: Array(repeating: 0, count: n), count: horizon)

        switch method {
        case .bottomUp:
            for step in 0..<horizon {
                for leaf in hierarchy.leaves { reconciledLeafMeans[step][leaf] = base[leaf]?.mean[step] ?? 0 }
                for node in nodes {
                    // Var(Σ leaves) with the leaves' correlation from W and their own h-step spreads.
                    let leaves = hierarchy.leaves(under: node)
                    var diagonal = 0.0
                    var combined = [Double](repeating: 0, count: T)
                    for leaf in leaves {
                        guard let i = index[leaf] else { continue }
                        let w =
                            (base[leaf]?.standardDeviation(at: step) ?? 0)
                            / ((lambda * target[i] + (1 - lambda) * variance[i]).squareRoot())
                        guard w.isFinite else { continue }
                        diagonal += w * w * target[i]
                        for t in 0..<T { combined[t] += w * E[t * n + i] }
                    }
                    let lowRank = combined.map { $0 * $0 }.reduce(0, +) / Double(T)
                    sd[step][index[node] ?? 0] = max(0, lambda * diagonal + (1 - lambda) * lowRank).squareRoot()
                }
            }
        case .minTShrink:
            let aggregates = hierarchy.aggregates
            let k = aggregates.count
            // Sparse constraint rows: +1 on the aggregate, −1 on each child.
            let rows: [[(Int, Double)]] = aggregates.map { node in
                [(index[node] ?? 0, 1.0)] + (hierarchy.children[node] ?? []).map { (index[$0] ?? 0, -1.0) }
            }
            var U = [Double](repeating: 0, count: T * k)  // E·Cᵀ
            for (a, row) in rows.enumerated() {
                for (i, sign) in row { for t in 0..<T { U[t * k + a] += sign * E[t * n + i] } }
            }
            let lowWeight = (1 - lambda) / Double(T)
            var CWC = [Double](repeating: 0, count: k * k)
            for a in 0..<k {
                for b in a..<k {
                    var value = 0.0
                    for t in 0..<T { value += U[t * k + a] * U[t * k + b] }
                    value *= lowWeight
                    CWC[a * k + b] = value
                    CWC[b * k + a] = value
                }
            }
            // Each node sits in at most two rows: its own and its parent's.
            var rowsOfNode: [Int: [(Int, Double)]] = [:]
            for (a, row) in rows.enumerated() { for (i, sign) in row { rowsOfNode[i, default: []].append((a, sign)) } }
            for (i, memberships) in rowsOfNode {
                for (a, signA) in memberships {
                    for (b, signB) in memberships { CWC[a * k + b] += lambda * signA * signB * target[i] }
                }
            }
            var WC = [Double](repeating: 0, count: n * k)  // W·Cᵀ
            for i in 0..<n {
                for t in 0..<T {
                    let e = E[t * n + i]
                    guard e != 0 else { continue }
                    for a in 0..<k { WC[i * k + a] += lowWeight * e * U[t * k + a] }
                }
            }
            for (a, row) in rows.enumerated() { for (i, sign) in row { WC[i * k + a] += lambda * sign * target[i] } }
            guard let factor = Cholesky(CWC, size: k) else {
                throw ForecastError("the error covariance of the hierarchy is singular")
            }
            for step in 0..<horizon {
                let yHat = nodes.map { base[$0]?.mean[step] ?? 0 }
                let incoherence = rows.map { row in row.reduce(0) { $0 + $1.1 * yHat[$1.0] } }
                let z = factor.solve(incoherence)
                for leaf in hierarchy.leaves {
                    guard let i = index[leaf] else { continue }
                    var correction = 0.0
                    for a in 0..<k { correction += WC[i * k + a] * z[a] }
                    reconciledLeafMeans[step][leaf] = yHat[i] - correction
                }
            }
            // Var of the reconciled error, diag(W − W·Cᵀ(CWCᵀ)⁻¹·C·W), relative to W's diagonal, rescales each
            // series' own h-step spread.
            for i in 0..<n {
                let row = (0..<k).map { WC[i * k + $0] }
                let solved = factor.solve(row)
                var reduction = 0.0
                for a in 0..<k { reduction += row[a] * solved[a] }
                let w = lambda * target[i] + (1 - lambda) * variance[i]
                let ratio = w > 0 ? max(0, w - reduction) / w : 1
                for step in 0..<horizon {
                    sd[step][i] = (base[nodes[i]]?.standardDeviation(at: step) ?? 0) * ratio.squareRoot()
                }
            }
        }

        var result: [String: SeriesForecast] = [:]
        for node in nodes {
            result[node] = SeriesForecast(
                model: (base[node]?.model ?? "") + "+" + method.rawValue, mean: [], lo80: [], hi80: [], lo95: [],
                hi95: [])
        }
        for step in 0..<horizon {
            let means = hierarchy.aggregate(leaves: reconciledLeafMeans[step])
            for (i, node) in nodes.enumerated() {
                let mean = means[node] ?? 0
                let spread = sd[step][i]
                let bound = { (value: Double) in nonNegative.contains(node) ? max(0, value) : value }
                result[node]?.mean.append(mean)
                result[node]?.lo80.append(bound(mean - z80 * spread))
                result[node]?.hi80.append(bound(mean + z80 * spread))
                result[node]?.lo95.append(bound(mean - z95 * spread))
                result[node]?.hi95.append(bound(mean + z95 * spread))
            }
        }
        return ReconciledForecasts(forecasts: result, shrinkage: method == .minTShrink ? lambda : nil)
    }

    /// λ = Σ_{i≠j} Var(r̂ᵢⱼ) / Σ_{i≠j} r̂ᵢⱼ² on the residuals scaled to unit variance (as in hts's `shrink.estim`),
    /// computed through the T×T Gram matrix so that it never touches n² pairs.
    static func shrinkageIntensity(_ E: [Double], T: Int, n: Int, target: [Double]) -> Double {
        guard T > 1, n > 1 else { return 1 }
        let scale = target.map { 1 / $0.squareRoot() }
        var rowSquares = [Double](repeating: 0, count: T)
        var columnSquares = [Double](repeating: 0, count: n)
        var columnFourth = [Double](repeating: 0, count: n)
        for t in 0..<T {
            for i in 0..<n {
                let x = E[t * n + i] * scale[i]
                let x2 = x * x
                rowSquares[t] += x2
                columnSquares[i] += x2
                columnFourth[i] += x2 * x2
            }
        }
        var gramSquares = 0.0
        for t in 0..<T {
            for s in t..<T {
                var g = 0.0
                for i in 0..<n { g += E[t * n + i] * E[s * n + i] * scale[i] * scale[i] }
                gramSquares += (s == t ? 1 : 2) * g * g
            }
        }
        let Td = Double(T)
        let allV = (rowSquares.map { $0 * $0 }.reduce(0, +) - gramSquares / Td) / (Td * (Td - 1))
        let diagonalV =
            (0..<n).map { columnFourth[$0] - columnSquares[$0] * columnSquares[$0] / Td }.reduce(0, +) / (Td * (Td - 1))
        let offDiagonalCorrelation = (gramSquares - columnSquares.map { $0 * $0 }.reduce(0, +)) / (Td * Td)
        guard offDiagonalCorrelation > 0 else { return 1 }
        return min(1, max(0, (allV - diagonalV) / offDiagonalCorrelation))
    }
}

/// Cholesky factor of a symmetric positive definite matrix, with a small ridge if rounding makes it indefinite.
struct Cholesky {
    let size: Int
    var lower: [Double]

    init?(_ matrix: [Double], size: Int) {
        self.size = size
        let scale = (0..<size).map { matrix[$0 * size + $0] }.max() ?? 1
        for ridge in [0, 1e-10, 1e-8, 1e-6].map({ $0 * max(scale, 1e-12) }) {
            var l = [Double](repeating: 0, count: size * size)
            var ok = true
            for i in 0..<size where ok {
                for j in 0...i {
                    var sum = matrix[i * size + j] + (i == j ? ridge : 0)
                    for p in 0..<j { sum -= l[i * size + p] * l[j * size + p] }
                    if i == j {
                        if sum <= 0 {
                            ok = false
                            break
                        }
                        l[i * size + i] = sum.squareRoot()
                    } else {
                        l[i * size + j] = sum / l[j * size + j]
                    }
                }
            }
            if ok {
                lower = l
                return
            }
        }
        return nil
    }

    func solve(_ b: [Double]) -> [Double] {
        var y = b
        for i in 0..<size {
            var sum = y[i]
            for p in 0..<i { sum -= lower[i * size + p] * y[p] }
            y[i] = sum / lower[i * size + i]
        }
        for i in stride(from: size - 1, through: 0, by: -1) {
            var sum = y[i]
            for p in (i + 1)..<size { sum -= lower[p * size + i] * y[p] }
            y[i] = sum / lower[i * size + i]
        }
        return y
    }
}
