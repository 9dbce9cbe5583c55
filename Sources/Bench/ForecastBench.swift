import Analysis
import ArgumentParser
import CommandEdge
import Domain
import Foundation
import Harness
import Simulator
import TopologyFiles

extension BenchCommand {
    struct Forecast: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "forecast",
            abstract:
                "Forecast indicators of every unit of the full topology with reconciliation; series/s and peak memory beside seasonal naive.",
            discussion: """
                The history comes from the simulator, in memory: --months of the whole city at --scale, every count \
                indicator of every unit (city, counties, townships, villages). For each indicator: (a) seasonal naive for \
                every series with no reconciliation — the floor any method pays for reading the series and writing \
                forecasts; (b) ETS chosen by AICc for every series, then MinT-shrink reconciliation over the four tiers.
                """)

        @Option(help: "Months of history to simulate.") var months = 36
        @Option(help: "Simulated city size (1.0 ≈ 1.7 million labour force).") var scale = 0.002
        @Option(help: "Indicators, comma-separated, or 'all' (every count indicator).") var indicators = "all"
        @Option(help: "Months ahead.") var horizon = 12
        @Option(help: "Write the figures as JSON to this file.") var json: String?
        @Option(
            help:
                "Instead: score the methods by rolling-origin backtest on this long-form CSV of real series (repeatable), e.g. Benchmarks/series/classic-seasonal.csv."
        )
        var series: [String] = []
        @Option(help: "With --series: months ahead at each origin.") var holdout = 12
        @Option(help: "With --series: forecast origins, one month apart, ending with the last.") var origins = 6
        @Option(
            help:
                "With --series: a Python with statsforecast, to score its AutoETS, AutoARIMA, AutoTheta and their mean on the same origins."
        )
        var statsforecast: String?

        func run() async throws {
            if !series.isEmpty {
                let bench = ForecastAccuracyBench(
                    holdout: holdout, origins: origins, statsforecastPython: statsforecast)
                var results: [ForecastAccuracyBench.SetResult] = []
                for path in series {
                    print("scoring the forecasting methods on \(path) …")
                    let result = try await bench.run(path: path)
                    ForecastAccuracyBench.show(result)
                    results.append(result)
                }
                if let json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                    try encoder.encode(results).write(to: URL(fileURLWithPath: json))
                }
                return
            }
            let topology = try Edge.topologyFiles().loadTopology()
            let chosen: [Indicator] =
                indicators == "all"
                ? IndicatorCatalogue.counts + IndicatorCatalogue.activity
                : try indicators.split(separator: ",").map { text in
                    guard let indicator = IndicatorCatalogue.indicator(IndicatorID(rawValue: String(text))),
                        indicator.unit == .count
                    else {
                        throw ValidationError("--indicators: '\(text)' is not a count indicator")
                    }
                    return indicator
                }
            let clock = ContinuousClock()
            print("simulating \(months) months of the whole city at scale \(scale) …")
            var simulated: SimulatedHistory?
            let simulationTime = clock.measure {
                simulated = SimulatedHistory(topology: topology, months: months, scale: scale)
            }
            let history = simulated?.counts ?? [:]
            let units = topology.allDivisions.map(\.code)
            let span = simulated?.span ?? []
            print(
                String(
                    format: "%d units × %d months in %.1f s; forecasting %d indicators, %d months ahead", units.count,
                    months, simulationTime.seconds, chosen.count, horizon))

            var naive = BatchForecast()
            naive.forecaster = Forecaster(method: .seasonalNaive)
            let full = BatchForecast()
            var rows: [[String]] = []
            var totals = (series: 0, naive: 0.0, full: 0.0)
            var models: [String: Int] = [:]
            for indicator in chosen {
                var series: [String: SeriesTable.Series] = [:]
                var parents: [String: String?] = [:]
                for unit in units {
                    let months = history[unit] ?? [:]
                    series[unit.description] = SeriesTable.Series(
                        unit: unit.description, start: span[0],
                        values: span.map { Double(months[$0]?[indicator.id] ?? 0) })
                    parents[unit.description] = unit.parent.map(\.description)
                }
                let flat = SeriesTable(series: series)
                let tree = SeriesTable(series: series, parents: parents)
                var naiveCount = 0
                let naiveTime = try await clock.measure {
                    naiveCount = try await naive.run(flat, horizon: horizon).forecasts.count
                }
                var result: BatchForecast.Result?
                let fullTime = try await clock.measure { result = try await full.run(tree, horizon: horizon) }
                for forecast in result?.forecasts.values ?? [:].values {
                    models[String(forecast.model.prefix { $0 != "+" }), default: 0] += 1
                }
                totals.series += naiveCount
                totals.naive += naiveTime.seconds
                totals.full += fullTime.seconds
                rows.append([
                    indicator.id.rawValue, String(naiveCount), String(format: "%.2f", naiveTime.seconds),
                    String(format: "%.0f", Double(naiveCount) / naiveTime.seconds),
                    String(format: "%.2f", fullTime.seconds),
                    String(format: "%.0f", Double(naiveCount) / fullTime.seconds),
                    result?.shrinkage.map { String(format: "%.2f", $0) } ?? "–",
                ])
                print(
                    "  \(indicator.id.rawValue): \(naiveCount) series, forecast+MinT \(String(format: "%.2f", fullTime.seconds)) s"
                )
            }
            print(
                Table.render(
                    header: ["indicator", "series", "snaive s", "snaive/s", "comb+mint s", "comb+mint/s", "λ"],
                    rows: rows
                ))
            let peak = ProcessMemory.peakMiB()
            print(
                String(
                    format: "\n(a) seasonal naive, no reconciliation: %d series in %.1f s = %.0f series/s",
                    totals.series, totals.naive, Double(totals.series) / totals.naive))
            print(
                String(
                    format:
                        "(b) production forecaster (ETS by AICc and Theta, combined) + MinT-shrink over 4 tiers: %d series in %.1f s = %.0f series/s (b/a %.3f)",
                    totals.series, totals.full, Double(totals.series) / totals.full, totals.naive / totals.full))
            print(
                "models chosen: "
                    + models.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            print(
                String(
                    format: "peak memory %.0f MiB (simulation included); %d cores", peak,
                    ProcessInfo.processInfo.activeProcessorCount))
            if let json {
                let figures: [String: Double] = [
                    "series": Double(totals.series), "snaive_seconds": totals.naive, "ets_mint_seconds": totals.full,
                    "ets_mint_series_per_s": Double(totals.series) / totals.full,
                    "snaive_series_per_s": Double(totals.series) / totals.naive,
                    "peak_mib": peak,
                ]
                try JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys, .prettyPrinted]).write(
                    to: URL(fileURLWithPath: json))
            }
        }
    }
}
