import Domain
import Foundation
import Testing

@testable import Analysis

@Suite struct ReconciliationTests {
    /// Three tiers: a city, 3 counties, 4 villages each; leaves are noisy seasonal series, the upper tiers
    /// their sums plus noise of their own (as separately reported figures would be).
    func hierarchyData() throws -> (Hierarchy, [String: [Double]]) {
        var parents: [String: String?] = ["city": nil]
        var generator = SeededGenerator(seed: 3)
        var series: [String: [Double]] = [:]
        for county in 0..<3 {
            parents["county\(county)"] = "city"
            for village in 0..<4 {
                let name = "village\(county)\(village)"
                parents[name] = "county\(county)"
                let base = 50 + 20 * Double(village)
                series[name] = (0..<48).map { t in
                    max(0, base * (1 + 0.3 * sin(2 * Double.pi * Double(t) / 12)) + 5 * generator.nextGaussian())
                }
            }
        }
        let hierarchy = try Hierarchy(parents: parents)
        for node in hierarchy.childrenFirst where !hierarchy.isLeaf(node) {
            let kids = hierarchy.children[node] ?? []
            series[node] = (0..<48).map { t in
                kids.reduce(0) { $0 + (series[$1]?[t] ?? 0) } + 8 * generator.nextGaussian()
            }
        }
        return (hierarchy, series)
    }

    @Test(arguments: ReconciliationMethod.allCases, [ForecastMethod.automatic, .theta, .arima, .combination])
    func reconciledForecastsAddUpExactlyAtEveryTier(method: ReconciliationMethod, base baseMethod: ForecastMethod)
        throws
    {
        let (hierarchy, series) = try hierarchyData()
        var base: [String: SeriesForecast] = [:]
        var residuals: [String: [Double]] = [:]
        let forecaster = Forecaster(method: baseMethod)
        for node in hierarchy.nodes {
            let model = try forecaster.fit(series[node] ?? [])
            base[node] = forecaster.forecast(model, horizon: 6, seed: 1, nonNegative: true)
            residuals[node] = model.residuals
        }
        // The base forecasts do not add up.
        let incoherence = abs(
            (base["city"]?.mean[0] ?? 0) - (0..<3).reduce(0) { $0 + (base["county\($1)"]?.mean[0] ?? 0) })
        #expect(incoherence > 1e-6)
        let reconciled = try Reconciler.reconcile(
            base: base, residuals: residuals, hierarchy: hierarchy, method: method)
        for node in hierarchy.aggregates {
            for step in 0..<6 {
                let sum = (hierarchy.children[node] ?? []).reduce(0) {
                    $0 + (reconciled.forecasts[$1]?.mean[step] ?? .nan)
                }
                #expect(reconciled.forecasts[node]?.mean[step] == sum, "\(node) month \(step + 1)")
            }
        }
        for (node, forecast) in reconciled.forecasts {
            for step in 0..<6 {
                #expect(
                    forecast.lo95[step] <= forecast.lo80[step] && forecast.hi80[step] <= forecast.hi95[step], "\(node)")
                #expect(forecast.hi95[step] > forecast.lo95[step], "\(node) has no spread")
            }
        }
        if method == .bottomUp {
            #expect(reconciled.forecasts["village00"]?.mean == base["village00"]?.mean)
        } else {
            let lambda = try #require(reconciled.shrinkage)
            // These residuals are neither uncorrelated nor exactly collinear: the estimate lies strictly between
            // the diagonal alone (1) and the sample covariance alone (0), where a clamp would not put it.
            #expect(lambda > 0.01 && lambda < 0.99, "λ = \(lambda)")
            // MinT moves the leaves too: information from the upper tiers flows down.
            #expect(reconciled.forecasts["village00"]?.mean != base["village00"]?.mean)
        }
    }

    @Test func mintKeepsCoherentBaseForecastsUnchanged() throws {
        let hierarchy = try Hierarchy(parents: ["a": nil, "b": "a", "c": "a"])
        let b = SeriesForecast(model: "x", mean: [1, 2], lo80: [0, 0], hi80: [2, 4], lo95: [0, 0], hi95: [3, 5])
        let c = SeriesForecast(model: "x", mean: [3, 4], lo80: [2, 3], hi80: [4, 5], lo95: [1, 2], hi95: [5, 6])
        let a = SeriesForecast(model: "x", mean: [4, 6], lo80: [3, 5], hi80: [5, 7], lo95: [2, 4], hi95: [6, 8])
        let residuals = ["a": [1.0, -2, 0.5, 1], "b": [0.5, -1, 0.2, 0.3], "c": [0.5, -1, 0.3, 0.7]]
        let reconciled = try Reconciler.reconcile(
            base: ["a": a, "b": b, "c": c], residuals: residuals, hierarchy: hierarchy, method: .minTShrink)
        for node in ["a", "b", "c"] {
            for step in 0..<2 {
                #expect(
                    abs(
                        (reconciled.forecasts[node]?.mean[step] ?? 0)
                            - (["a": a, "b": b, "c": c][node]?.mean[step] ?? 0)) < 1e-9)
            }
        }
    }

    @Test func cyclesAreRefused() {
        #expect(throws: Hierarchy.Problem.self) { try Hierarchy(parents: ["a": "b", "b": "a"]) }
    }
}
