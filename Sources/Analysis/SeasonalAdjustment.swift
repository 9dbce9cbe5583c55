import Foundation

/// A monthly series split into trend, seasonal and irregular parts, X-11 style (Shiskin, Young &
/// Musgrave 1967; Ladiray & Quenneville 2001): centred 2×12 trend, 3×3 seasonal filter, Henderson 13-term
/// trend, 3×5 seasonal filter. Strictly positive series are decomposed multiplicatively (on logarithms),
/// others additively.
package struct SeasonalAdjustment: Sendable {
    package let adjusted: [Double]
    package let trend: [Double]
    /// Additive seasonal effect, or multiplicative factor when `multiplicative`.
    package let seasonal: [Double]
    package let multiplicative: Bool

    /// The smallest series worth adjusting: three full years.
    package static let minimumLength = 36

    static let henderson13 = [
        -0.01935, -0.02786, 0, 0.06549, 0.14735, 0.21433, 0.24006, 0.21433, 0.14735, 0.06549, 0, -0.02786, -0.01935,
    ]
    static let threeByThree = [1.0, 2, 3, 2, 1].map { $0 / 9 }
    static let threeByFive = [1.0, 2, 3, 3, 3, 2, 1].map { $0 / 15 }

    package init?(_ y: [Double], period m: Int = 12) {
        guard y.count >= Self.minimumLength, y.allSatisfy(\.isFinite) else { return nil }
        let multiplicative = y.allSatisfy { $0 > 0 }
        let z = multiplicative ? y.map { log($0) } : y
        let firstTrend = Self.centredMovingAverage(z, period: m)
        let firstSeasonal = Self.normalised(
            Self.seasonalFilter(zip(z, firstTrend).map { $0 - $1 }, period: m, weights: Self.threeByThree), period: m)
        let secondTrend = Self.filter(zip(z, firstSeasonal).map { $0 - $1 }, weights: Self.henderson13)
        let seasonal = Self.normalised(
            Self.seasonalFilter(zip(z, secondTrend).map { $0 - $1 }, period: m, weights: Self.threeByFive), period: m)
        let adjusted = zip(z, seasonal).map { $0 - $1 }
        let trend = Self.filter(adjusted, weights: Self.henderson13)
        self.multiplicative = multiplicative
        self.adjusted = multiplicative ? adjusted.map { exp($0) } : adjusted
        self.trend = multiplicative ? trend.map { exp($0) } : trend
        self.seasonal = multiplicative ? seasonal.map { exp($0) } : seasonal
    }

    /// Symmetric weights; near the ends the weights that fall outside are dropped and the rest rescaled.
    static func filter(_ x: [Double], weights: [Double]) -> [Double] {
        let half = weights.count / 2
        return x.indices.map { t in
            var sum = 0.0
            var weight = 0.0
            for (offset, w) in weights.enumerated() {
                let index = t + offset - half
                guard x.indices.contains(index) else { continue }
                sum += w * x[index]
                weight += w
            }
            return weight != 0 ? sum / weight : x[t]
        }
    }

    /// The centred 2×m moving average; the first and last m/2 months repeat the nearest full value.
    static func centredMovingAverage(_ x: [Double], period m: Int) -> [Double] {
        let half = m / 2
        var weights = [Double](repeating: 1.0 / Double(m), count: m + 1)
        weights[0] = 0.5 / Double(m)
        weights[m] = 0.5 / Double(m)
        var result = x
        guard x.count > m else { return Array(repeating: x.reduce(0, +) / Double(max(1, x.count)), count: x.count) }
        for t in half..<(x.count - half) {
            var sum = 0.0
            for (offset, w) in weights.enumerated() { sum += w * x[t + offset - half] }
            result[t] = sum
        }
        for t in 0..<half { result[t] = result[half] }
        for t in (x.count - half)..<x.count { result[t] = result[x.count - half - 1] }
        return result
    }

    /// Smooths each calendar month's values across years.
    static func seasonalFilter(_ x: [Double], period m: Int, weights: [Double]) -> [Double] {
        var result = x
        for position in 0..<m {
            let indices = Array(stride(from: position, to: x.count, by: m))
            let smoothed = filter(indices.map { x[$0] }, weights: weights)
            for (index, value) in zip(indices, smoothed) { result[index] = value }
        }
        return result
    }

    /// Seasonal effects that sum to about zero over any twelve months.
    static func normalised(_ s: [Double], period m: Int) -> [Double] {
        zip(s, centredMovingAverage(s, period: m)).map { $0 - $1 }
    }
}
