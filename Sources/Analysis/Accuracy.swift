/// Forecast accuracy measures (Hyndman & Koehler 2006; Makridakis 1993).
package enum Accuracy {
    /// Mean absolute scaled error: the mean absolute forecast error over the in-sample mean absolute error of the
    /// seasonal naive method with period `m`. Nil when the training data have no seasonal change to scale by.
    package static func mase(actual: [Double], forecast: [Double], training: [Double], period m: Int = 12) -> Double? {
        guard training.count > m, !actual.isEmpty, actual.count == forecast.count else { return nil }
        let scale =
            (m..<training.count).map { abs(training[$0] - training[$0 - m]) }.reduce(0, +) / Double(training.count - m)
        guard scale > 0 else { return nil }
        return zip(actual, forecast).map { abs($0 - $1) }.reduce(0, +) / Double(actual.count) / scale
    }

    /// Symmetric mean absolute percentage error, in percent (0–200); months where both are zero count as 0.
    package static func smape(actual: [Double], forecast: [Double]) -> Double? {
        guard !actual.isEmpty, actual.count == forecast.count else { return nil }
        let terms = zip(actual, forecast).map { a, f in
            let denominator = abs(a) + abs(f)
            return denominator == 0 ? 0 : 200 * abs(a - f) / denominator
        }
        return terms.reduce(0, +) / Double(terms.count)
    }
}
