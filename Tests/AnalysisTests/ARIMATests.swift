import Domain
import Foundation
import Testing

@testable import Analysis

@Suite("Seasonal ARIMA")
struct ARIMATests {
    /// w_t − μ = φ(w_{t−1} − μ) + e_t + θ e_{t−1}, drawn without the library.
    func arma(n: Int, phi: Double, theta: Double, mean: Double, sigma: Double, seed: UInt64) -> [Double] {
        var generator = SeededGenerator(seed: seed)
        var previous = mean
        var previousError = 0.0
        return (0..<(n + 100)).map { _ in
            let error = sigma * generator.nextGaussian()
            let value = mean + phi * (previous - mean) + error + theta * previousError
            previous = value
            previousError = error
            return value
        }.suffix(n).map { $0 }
    }

    @Test("AR(1) and MA(1) coefficients are recovered by conditional least squares")
    func coefficientsAreRecovered() throws {
        let orders = { (p: Int, q: Int) in
            ARIMAModel.Orders(p: p, d: 0, q: q, seasonalP: 0, seasonalD: 0, seasonalQ: 0, period: 12)
        }
        let ar = try #require(
            ARIMAModel.fit(arma(n: 600, phi: 0.7, theta: 0, mean: 50, sigma: 2, seed: 1), orders: orders(1, 0)))
        #expect(abs(ar.ar[0] - 0.7) < 0.07, "φ \(ar.ar)")
        #expect(abs(ar.mean - 50) < 1, "μ \(ar.mean)")
        #expect(abs(ar.sigma2.squareRoot() - 2) < 0.2)
        let ma = try #require(
            ARIMAModel.fit(arma(n: 600, phi: 0, theta: 0.5, mean: 0, sigma: 1, seed: 2), orders: orders(0, 1)))
        #expect(abs(ma.ma[0] - 0.5) < 0.08, "θ \(ma.ma)")
        // An AR(1)'s forecast decays towards its mean, and its ψ-weights are the powers of φ.
        let forecast = ar.forecast(horizon: 60)
        #expect(abs(forecast[59] - ar.mean) < 0.5)
        let psi = ar.psiWeights(4)
        for (j, weight) in psi.enumerated() { #expect(abs(weight - pow(ar.ar[0], Double(j))) < 1e-12) }
    }

    @Test("A random walk is differenced once, noise not at all; a walk's ψ-weights are all 1")
    func differencingFollowsKPSS() throws {
        var generator = SeededGenerator(seed: 4)
        var level = 100.0
        let walk = (0..<200).map { _ in
            level += 3 * generator.nextGaussian()
            return level
        }
        let walked = try #require(ARIMAModel.fit(walk))
        #expect(walked.orders.d == 1 && walked.orders.seasonalD == 0, "\(walked.orders)")
        let noise = arma(n: 200, phi: 0, theta: 0, mean: 10, sigma: 1, seed: 5)
        #expect(try #require(ARIMAModel.fit(noise)).orders.d == 0)
        let randomWalk = try #require(
            ARIMAModel.fit(
                walk, orders: .init(p: 0, d: 1, q: 0, seasonalP: 0, seasonalD: 0, seasonalQ: 0, period: 12)))
        #expect(randomWalk.psiWeights(5) == [1, 1, 1, 1, 1])
    }

    @Test("A seasonal series with a trend gets both differences and follows its season")
    func seasonalTrendIsDifferenced() throws {
        var generator = SeededGenerator(seed: 6)
        let season = (0..<12).map { 30 * sin(2 * Double.pi * Double($0) / 12) }
        let y = (0..<144).map { t in 200 + 2 * Double(t) + season[t % 12] + 3 * generator.nextGaussian() }
        let model = try #require(ARIMAModel.fit(y))
        #expect(model.orders.seasonalD == 1, "\(model.orders)")
        let forecast = model.forecast(horizon: 12)
        for h in 0..<12 {
            let truth = 200 + 2 * Double(144 + h) + season[(144 + h) % 12]
            #expect(abs(forecast[h] - truth) < 15, "month \(h + 1): \(forecast[h]) vs \(truth)")
        }
        // Intervals widen with the horizon.
        #expect(model.standardDeviation(step: 12) > model.standardDeviation(step: 1))
    }

    @Test("Too short or broken series give no model rather than a crash")
    func tooShort() {
        #expect(ARIMAModel.fit([1, 2, 3, 4, 5]) == nil)
        #expect(ARIMAModel.fit([1, 2, .nan, 4, 5, 6, 7, 8, 9]) == nil)
    }
}
