import Domain
import Foundation
import Testing

@testable import Analysis

@Suite("Theta and the combination")
struct ThetaTests {
    /// A line with multiplicative season and noise, drawn without the library.
    func seasonalLine(n: Int, seed: UInt64, noise: Double = 2) -> [Double] {
        var generator = SeededGenerator(seed: seed)
        let season = (0..<12).map { 1 + 0.25 * sin(2 * Double.pi * Double($0) / 12) }
        return (0..<n).map { t in
            let line: Double = 200 + 1.5 * Double(t)
            return line * season[t % 12] + noise * generator.nextGaussian()
        }
    }

    @Test("A seasonal line: the season is found and removed, the drift is half the line's slope, forecasts follow it")
    func seasonalLineIsFollowed() throws {
        let y = seasonalLine(n: 120, seed: 3)
        let model = try #require(ThetaModel.fit(y))
        let indices = try #require(model.seasonal, "no season found in a clearly seasonal series")
        #expect(model.multiplicative)
        // The drawn season is 1 + 0.25 sin(2πk/12); classical decomposition recovers it to a few percent.
        for (k, index) in indices.enumerated() {
            #expect(abs(index - (1 + 0.25 * sin(2 * Double.pi * Double(k) / 12))) < 0.03, "month \(k): \(index)")
        }
        // The adjusted series rises 1.5 a month, so the drift is about 0.75.
        #expect(abs(model.drift - 0.75) < 0.1, "drift \(model.drift)")
        let forecast = model.forecast(horizon: 24)
        let truth = (120..<144).map { t -> Double in
            let line: Double = 200 + 1.5 * Double(t)
            return line * (1 + 0.25 * sin(2 * Double.pi * Double(t) / 12))
        }
        let error = zip(forecast, truth).map { abs($0 - $1) / $1 }.max() ?? 1
        // Theta's drift is half the slope, so it lags a steady line by design; within 10% two years out.
        #expect(error < 0.1, "worst relative error \(error)")
    }

    @Test("Noise about a level has no season, and its forecast is flat near the level")
    func noiseHasNoSeason() throws {
        var generator = SeededGenerator(seed: 11)
        let y = (0..<96).map { _ in 50 + 3 * generator.nextGaussian() }
        let model = try #require(ThetaModel.fit(y))
        #expect(model.seasonal == nil)
        let forecast = model.forecast(horizon: 12)
        #expect(forecast.allSatisfy { abs($0 - 50) < 3 }, "\(forecast)")
        // The one-step interval is about ±1.96σ with σ near 3.
        let sd = model.standardDeviation(step: 1)
        #expect(abs(sd - 3) < 0.8, "σ \(sd)")
        #expect(model.standardDeviation(step: 12) >= sd)
    }

    @Test("Series with zeros are adjusted additively; constant and short series still forecast")
    func zerosConstantAndShort() throws {
        let y = (0..<60).map { t in Double([0, 0, 3, 8, 12, 9, 4, 1, 0, 0, 2, 1][t % 12] + t / 12) }
        let model = try #require(ThetaModel.fit(y))
        #expect(!model.multiplicative && model.seasonal != nil)
        let forecaster = Forecaster(method: .theta)
        #expect(try forecaster.forecast(y, horizon: 6).lo95.allSatisfy { $0 >= 0 })
        #expect(try forecaster.forecast([5, 5, 5, 5, 5], horizon: 3).mean == [5, 5, 5])
        #expect(try forecaster.forecast([3, 4, 6, 5], horizon: 2).mean.count == 2)
    }

    @Test("The combination is the mean of ETS's, Theta's and ARIMA's forecasts, point and bounds alike")
    func combinationIsTheMean() throws {
        let y = seasonalLine(n: 84, seed: 5, noise: 6)
        let members = try [Forecaster(method: .automatic), Forecaster(method: .theta), Forecaster(method: .arima)]
            .map { try $0.forecast(y, horizon: 12) }
        let combined = try Forecaster(method: .combination).forecast(y, horizon: 12)
        #expect(combined.model == "COMB(" + members.map(\.model).joined(separator: "+") + ")")
        #expect(members[2].model.hasPrefix("ARIMA("), "\(members[2].model)")
        func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(values.count) }
        for step in 0..<12 {
            #expect(abs(combined.mean[step] - mean(members.map { $0.mean[step] })) < 1e-9)
            #expect(abs(combined.lo95[step] - mean(members.map { $0.lo95[step] })) < 1e-9)
            #expect(abs(combined.hi80[step] - mean(members.map { $0.hi80[step] })) < 1e-9)
        }
        // The production forecaster is the combination.
        #expect(try Forecaster().forecast(y, horizon: 3).model == combined.model)
    }

    @Test("Paths drawn from the combination are centred on its forecast and keep a spread")
    func combinationPaths() throws {
        let y = seasonalLine(n: 84, seed: 8, noise: 6)
        let forecaster = Forecaster(method: .combination)
        let model = try forecaster.fit(y)
        var generator = SeededGenerator(seed: 2)
        let paths = model.samplePaths(horizon: 6, paths: 2_000, generator: &generator)
        let mean = model.pointForecast(horizon: 6)
        for step in 0..<6 {
            let draws = paths.map { $0[step] }
            let average = draws.reduce(0, +) / Double(draws.count)
            let spread = (draws.map { ($0 - average) * ($0 - average) }.reduce(0, +) / Double(draws.count)).squareRoot()
            #expect(
                abs(average - mean[step]) < 0.05 * abs(mean[step]) + 1, "month \(step + 1): \(average) vs \(mean[step])"
            )
            #expect(spread > 2, "month \(step + 1): spread \(spread)")
        }
    }
}
