import Analysis
import ArgumentParser
import CommandEdge
import Domain
import Foundation

struct ForecastCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forecast",
        abstract:
            "Forecast monthly series with intervals: a CSV of your own (--input) or an indicator of the whole topology (--indicator).",
        discussion: """
            --input FILE.csv: long format unit,period,value with an optional parent column; when the parent column is \
            present the series form a hierarchy and the forecasts are reconciled so that children add up to parents. \
            Writes unit,period,mean,lo80,hi80,lo95,hi95.
            --indicator ID: every unit of the topology from the database; count indicators are reconciled across the four \
            tiers, rates are derived from the reconciled numerator and denominator. Results are stored in PostgreSQL.
            """)

    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Long-format CSV: unit,period,value[,parent].") var input: String?
    @Option(help: "Indicator ID from the catalogue, forecast from the database for the whole topology.") var indicator:
        String?
    @Option(help: "Months ahead, 1 to 12.") var horizon = 6
    @Option(help: "Output CSV (default: standard output).") var output: String?
    @Option(
        help: "comb (mean of auto and theta; the default), auto (ETS by AICc), snaive, theta, or an ETS model: AAdA."
    )
    var model = "comb"
    @Option(help: "Reconciliation of a hierarchy: mint-shrink or bottom-up.") var reconcile = "mint-shrink"

    func validate() throws {
        guard (input == nil) != (indicator == nil) else {
            throw ValidationError("give either --input FILE.csv or --indicator ID")
        }
        guard (1...12).contains(horizon) else { throw ValidationError("--horizon must be 1 to 12 months") }
        _ = try Self.method(model)
        guard ReconciliationMethod(rawValue: reconcile) != nil else {
            throw ValidationError("--reconcile must be mint-shrink or bottom-up")
        }
    }

    func run() async throws {
        var batch = BatchForecast()
        batch.forecaster = Forecaster(method: try Self.method(model))
        batch.reconciliation = ReconciliationMethod(rawValue: reconcile) ?? .minTShrink
        if let input {
            let table = try readSeriesTable(input)
            let result = try await batch.run(table, horizon: horizon)
            try writeOutput(forecastCSV(result.forecasts, origin: { result.origin[$0] }), to: output)
            let models = Dictionary(grouping: result.forecasts.values, by: { $0.model }).mapValues(\.count)
            let summary = models.sorted { $0.value > $1.value }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
            let reconciled =
                table.parents == nil
                ? ""
                : "; reconciled (\(batch.reconciliation.rawValue)\(result.shrinkage.map { String(format: ", λ = %.3f", $0) } ?? ""))"
            FileHandle.standardError.write(
                Data(
                    "forecast \(result.forecasts.count) series \(horizon) months ahead: \(summary)\(reconciled)\n".utf8)
            )
            return
        }
        try await DatabaseForecast.run(
            indicator: indicator ?? "", horizon: horizon, batch: batch, connection: connection, output: output)
    }

    static func method(_ text: String) throws -> ForecastMethod {
        switch text.lowercased() {
        case "auto": return .automatic
        case "snaive": return .seasonalNaive
        case "theta": return .theta
        case "arima": return .arima
        case "comb": return .combination
        default:
            guard let spec = ETSSpec(text) else {
                throw ValidationError("--model '\(text)' is not auto, snaive, theta, comb or an ETS model like AAdA")
            }
            return .ets(spec)
        }
    }
}

struct BacktestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backtest",
        abstract:
            "Fit on all but the last months of every series; score the chosen model and seasonal naive (MASE with period 12, sMAPE)."
    )

    @Option(help: "Long-format CSV: unit,period,value[,parent].") var input: String
    @Option(help: "Months held out at the end of every series.") var holdout = 12
    @Option(help: "Forecast origins, one month apart, ending with the last (rolling origin); scores are averaged.")
    var origins = 1
    @Option(
        help: "comb (mean of auto and theta; the default), auto (ETS by AICc), snaive, theta, or an ETS model: AAdA."
    )
    var model = "comb"
    @Option(help: "With a file that has an indicator column (the simulator's ground truth): that indicator's rows.")
    var indicator: String?
    @Option(help: "Only units whose name starts with this (e.g. 1404 for the counties' codes' prefix).") var unitPrefix:
        String?
    @Flag(help: "Months missing inside a series count as zero (files that leave zeros out).") var missingAsZero = false
    @Option(help: "table, csv or json.") var format = "table"

    func validate() throws {
        guard (1...36).contains(holdout) else { throw ValidationError("--holdout must be 1 to 36 months") }
        guard (1...60).contains(origins) else { throw ValidationError("--origins must be 1 to 60") }
        _ = try ForecastCommand.method(model)
        guard ["table", "csv", "json"].contains(format) else {
            throw ValidationError("--format must be table, csv or json")
        }
    }

    func run() async throws {
        var table = try readSeriesTable(input, indicator: indicator, missingAsZero: missingAsZero)
        if let unitPrefix { table.series = table.series.filter { $0.key.hasPrefix(unitPrefix) } }
        var backtest = Backtest()
        backtest.forecaster = Forecaster(method: try ForecastCommand.method(model))
        let report = await backtest.run(table, holdout: holdout, origins: origins)
        let number = { (value: Double?) in value.map { String(format: "%.3f", $0) } ?? "" }
        let header = ["unit", "months", "model", "mase", "smape", "snaive_mase", "snaive_smape"]
        let rows = report.scores.map {
            [
                $0.unit, String($0.months), $0.model, number($0.mase), number($0.smape), number($0.naiveMASE),
                number($0.naiveSMAPE),
            ]
        }
        let overall = [
            "overall", String(report.scores.count), "", number(report.meanMASE), number(report.meanSMAPE),
            number(report.meanNaiveMASE), number(report.meanNaiveSMAPE),
        ]
        switch format {
        case "csv":
            print(CSVText.render(header: header, rows: rows + [overall]))
        case "json":
            struct Output: Encodable {
                struct Row: Encodable {
                    let unit: String
                    let months: Int
                    let model: String
                    let mase, smape, snaiveMase, snaiveSmape: Double?
                }
                let holdout: Int
                let series: [Row]
                let overall: [String: Double?]
                let skipped: [String: String]
            }
            let output = Output(
                holdout: holdout,
                series: report.scores.map {
                    .init(
                        unit: $0.unit, months: $0.months, model: $0.model, mase: $0.mase, smape: $0.smape,
                        snaiveMase: $0.naiveMASE, snaiveSmape: $0.naiveSMAPE)
                },
                overall: [
                    "mase": report.meanMASE, "smape": report.meanSMAPE, "snaive_mase": report.meanNaiveMASE,
                    "snaive_smape": report.meanNaiveSMAPE,
                ],
                skipped: Dictionary(report.skipped.map { ($0.unit, $0.reason) }, uniquingKeysWith: { a, _ in a }))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try encoder.encode(output), as: UTF8.self))
        default:
            print(Table.render(header: header, rows: rows + [overall]))
            if let mase = report.meanMASE, let naive = report.meanNaiveMASE {
                print(
                    String(
                        format: "\nmean MASE %.3f vs seasonal naive %.3f: %@", mase, naive,
                        mase < naive ? "the models beat seasonal naive" : "seasonal naive is as good or better"))
            }
        }
        for (unit, reason) in report.skipped {
            FileHandle.standardError.write(Data("skipped \(unit): \(reason)\n".utf8))
        }
        if report.scores.isEmpty {
            throw ValidationError("no series is long enough for a holdout of \(holdout) months")
        }
    }
}

/// Forecasts as `unit,period,mean,lo80,hi80,lo95,hi95`, units in order; numbers in full precision, so that
/// sums read back are the sums written.
func forecastCSV(_ forecasts: [String: SeriesForecast], origin: (String) -> Period?) -> String {
    var lines = ["unit,period,mean,lo80,hi80,lo95,hi95"]
    for unit in forecasts.keys.sorted() {
        guard let forecast = forecasts[unit], let first = origin(unit) else { continue }
        for step in 0..<forecast.horizon {
            let cells = [
                forecast.mean[step], forecast.lo80[step], forecast.hi80[step], forecast.lo95[step], forecast.hi95[step],
            ]
            lines.append("\(unit),\(first.advanced(by: step)),\(cells.map { "\($0)" }.joined(separator: ","))")
        }
    }
    return lines.joined(separator: "\n") + "\n"
}
