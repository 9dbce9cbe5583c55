import Domain

/// The year-end outlook of an annual target: how much has been achieved, what the year is expected to end
/// at, and the probability of reaching the target, from the forecast's simulated paths.
package struct TargetOutlook: Sendable, Hashable {
    package let target: Double
    /// Year-to-date (accumulating indicators) or latest value (levels and rates).
    package let achieved: Double
    package let expected: Double
    package let lo80: Double
    package let hi80: Double
    package let probability: Double
    /// achieved ÷ target.
    package var progress: Double { target != 0 ? achieved / target : 0 }
}

package enum TargetAttainment {
    /// - Parameters:
    ///   - history: the whole series up to the latest month (what the model is fitted on).
    ///   - monthsElapsed: months of the target year in `history`'s tail (1–12).
    ///   - accumulates: whether the target is a year's total (new employment) or a year-end level (a rate).
    package static func outlook(
        history: [Double], monthsElapsed: Int, target: Double, accumulates: Bool, forecaster: Forecaster = Forecaster(),
        seed: UInt64 = 7
    ) throws(ForecastError) -> TargetOutlook {
        guard (1...12).contains(monthsElapsed), history.count >= monthsElapsed else {
            throw ForecastError("months elapsed must be 1 to 12 and within the history")
        }
        let achieved = accumulates ? history.suffix(monthsElapsed).reduce(0, +) : history[history.count - 1]
        let remaining = 12 - monthsElapsed
        guard remaining > 0 else {
            let reached: Double = achieved >= target ? 1 : 0
            return TargetOutlook(
                target: target, achieved: achieved, expected: achieved, lo80: achieved, hi80: achieved,
                probability: reached)
        }
        let model = try forecaster.fit(history)
        var generator = SeededGenerator(seed: seed)
        let paths = model.samplePaths(horizon: remaining, paths: max(200, forecaster.paths), generator: &generator)
        let nonNegative = !history.contains { $0 < 0 }
        let totals = paths.map { path in
            let values = nonNegative ? path.map { max(0, $0) } : path
            return accumulates ? achieved + values.reduce(0, +) : values[values.count - 1]
        }.sorted()
        let point = model.pointForecast(horizon: remaining)
        let expected =
            accumulates ? achieved + point.map { nonNegative ? max(0, $0) : $0 }.reduce(0, +) : point[point.count - 1]
        let reached = Double(totals.filter { $0 >= target }.count) / Double(totals.count)
        return TargetOutlook(
            target: target, achieved: achieved, expected: expected,
            lo80: Quantile.of(sorted: totals, 0.1), hi80: Quantile.of(sorted: totals, 0.9), probability: reached)
    }
}
