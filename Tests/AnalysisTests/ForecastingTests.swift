import Domain
import Foundation
import Testing

@testable import Analysis

/// Draws a series from ETS(A,N,N) or ETS(A,A,A) with known parameters, written out independently of the
/// library's recursions.
private func simulateAdditive(
    n: Int, alpha: Double, beta: Double, gamma: Double, sigma: Double, level: Double, slope: Double, season: [Double],
    seed: UInt64
) -> [Double] {
    var generator = SeededGenerator(seed: seed)
    var l = level
    var b = slope
    var s = season
    var y: [Double] = []
    for t in 0..<n {
        let seasonal = s.isEmpty ? 0 : s[t % s.count]
        let e = sigma * generator.nextGaussian()
        y.append(l + b + seasonal + e)
        let newLevel = l + b + alpha * e
        b += beta * e
        l = newLevel
        if !s.isEmpty { s[t % s.count] = seasonal + gamma * e }
    }
    return y
}

@Suite struct ETSTests {
    @Test func simpleExponentialSmoothingRecoversAlpha() throws {
        for (alpha, seed) in [(0.2, 11 as UInt64), (0.6, 12)] {
            let y = simulateAdditive(
                n: 600, alpha: alpha, beta: 0, gamma: 0, sigma: 2, level: 100, slope: 0, season: [], seed: seed)
            let model = try #require(ETSModel.fit(y, spec: ETSSpec(.additive, .none, .none)))
            #expect(abs(model.parameters.alpha - alpha) < 0.08, "α = \(alpha) estimated as \(model.parameters.alpha)")
            #expect(abs(model.sigma2.squareRoot() - 2) < 0.25)
        }
    }

    @Test func holtWintersRecoversSmoothingAndSeason() throws {
        let season = (0..<12).map { 40 * sin(2 * Double.pi * Double($0) / 12) }
        let y = simulateAdditive(
            n: 480, alpha: 0.3, beta: 0.01, gamma: 0.15, sigma: 4, level: 1_000, slope: 2, season: season, seed: 5)
        let model = try #require(ETSModel.fit(y, spec: ETSSpec(.additive, .additive, .additive)))
        #expect(abs(model.parameters.alpha - 0.3) < 0.1, "α estimated as \(model.parameters.alpha)")
        #expect(abs(model.parameters.gamma - 0.15) < 0.1, "γ estimated as \(model.parameters.gamma)")
        #expect(model.parameters.beta < 0.06, "β estimated as \(model.parameters.beta)")
        #expect(abs(model.sigma2.squareRoot() - 4) < 0.6)
        // Automatic selection by AICc settles on a model with a season.
        let chosen = try Forecaster(method: .automatic).fit(y)
        guard case .ets(let best) = chosen else {
            Issue.record("no ETS model chosen")
            return
        }
        #expect(best.spec.season != .none, "chose \(best.spec)")
    }

    @Test func intervalsCoverAndWiden() throws {
        let season = (0..<12).map { 30 * cos(2 * Double.pi * Double($0) / 12) }
        let y = simulateAdditive(
            n: 120, alpha: 0.3, beta: 0, gamma: 0.1, sigma: 5, level: 500, slope: 0, season: season, seed: 9)
        let forecast = try Forecaster(method: .ets(ETSSpec(.additive, .none, .additive))).forecast(y, horizon: 12)
        for step in 0..<12 {
            #expect(forecast.lo95[step] <= forecast.lo80[step] && forecast.lo80[step] <= forecast.mean[step])
            #expect(forecast.mean[step] <= forecast.hi80[step] && forecast.hi80[step] <= forecast.hi95[step])
        }
        #expect(forecast.hi95[11] - forecast.lo95[11] > forecast.hi95[0] - forecast.lo95[0])
        // One step ahead, the 95% interval is about ±1.96σ.
        let halfWidth = (forecast.hi95[0] - forecast.lo95[0]) / 2
        #expect(abs(halfWidth - 1.96 * 5) < 2.0, "half width \(halfWidth)")
    }

    @Test func shortAndConstantSeriesStillForecast() throws {
        let flat = try Forecaster().forecast([0, 0, 0, 0, 0, 0], horizon: 3)
        #expect(flat.mean == [0, 0, 0] && flat.hi95 == [0, 0, 0])
        #expect(throws: ForecastError.self) { try Forecaster().forecast([1, 2], horizon: 3) }
        #expect(throws: ForecastError.self) { try Forecaster().forecast([1, 2, 3], horizon: 0) }
        let short = try Forecaster().forecast([3, 4, 5, 7, 6, 8, 9, 8], horizon: 2)
        #expect(short.mean.count == 2)
    }

    @Test func specParsing() {
        #expect(ETSSpec("MAdM") == ETSSpec(.multiplicative, .damped, .multiplicative))
        #expect(ETSSpec("ETS(A,N,A)") == ETSSpec(.additive, .none, .additive))
        #expect(ETSSpec("XYZ") == nil)
        // Once a crash (removeFirst on an empty string): every short or odd name is simply not a model.
        for text in ["", "A", "M", "AD", "AAD", "ETS()", "ETS(A)", "(", "Ad", "AAdMM", "人", "A\u{0}N"] {
            #expect(ETSSpec(text) == nil, "\(text)")
        }
        for spec in ETSSpec.candidates(seasonal: true, positive: true) { #expect(ETSSpec(spec.description) == spec) }
    }
}

@Suite struct AccuracyTests {
    @Test func maseAndSmapeByHand() throws {
        let training = (0..<24).map { Double($0 % 12) + ($0 >= 12 ? 2 : 0) }  // seasonal change of 2 each month
        let mase = try #require(Accuracy.mase(actual: [10, 10], forecast: [11, 13], training: training))
        #expect(abs(mase - 1.0) < 1e-12)  // mean |e| = 2, scale = 2
        let smape = try #require(Accuracy.smape(actual: [100, 0], forecast: [50, 0]))
        #expect(abs(smape - (200.0 * 50 / 150) / 2) < 1e-12)
    }
}

@Suite struct SeasonalAdjustmentTests {
    @Test func removesAKnownSeason() throws {
        let pattern = (0..<12).map { 1 + 0.2 * sin(2 * Double.pi * Double($0) / 12) }
        let y = (0..<60).map { t in (1_000 + 5 * Double(t)) * pattern[t % 12] }
        let adjustment = try #require(SeasonalAdjustment(y))
        #expect(adjustment.multiplicative)
        // The adjusted series is close to the trend line; the raw one swings ±20%.
        for t in 12..<48 {
            let line = 1_000 + 5 * Double(t)
            #expect(abs(adjustment.adjusted[t] / line - 1) < 0.03, "month \(t): \(adjustment.adjusted[t]) vs \(line)")
        }
        #expect(SeasonalAdjustment(Array(y.prefix(30))) == nil)
    }
}
