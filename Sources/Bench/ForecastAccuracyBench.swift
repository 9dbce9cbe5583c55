import Analysis
import ArgumentParser
import CommandEdge
import DevStack
import Foundation
import Harness
import TopologyFiles

/// The methods' accuracy on real series: a rolling-origin backtest of each of our methods and, when a Python
/// with statsforecast is given, of statsforecast's AutoETS, AutoARIMA, AutoTheta and their mean on the same
/// origins (`scripts/statsforecast-backtest.py`), side by side.
struct ForecastAccuracyBench {
    struct MethodScore: Codable {
        let method: String
        let source: String
        let meanMASE: Double?
        let meanSMAPE: Double?
        let seconds: Double
    }

    struct SetResult: Codable {
        let set: String
        let series: Int
        let holdout: Int
        let origins: Int
        let methods: [MethodScore]
    }

    let holdout: Int
    let origins: Int
    let statsforecastPython: String?

    static let methods: [(name: String, method: ForecastMethod)] = [
        ("seasonal naive", .seasonalNaive), ("ETS by AICc (before)", .automatic), ("Theta", .theta),
        ("ARIMA", .arima), ("ETS+Theta+ARIMA combination (production)", .combination),
    ]

    func run(path: String) async throws -> SetResult {
        let table = try readSeriesTable(path)
        var scores: [MethodScore] = []
        for (name, method) in Self.methods {
            var backtest = Backtest()
            backtest.forecaster = Forecaster(method: method)
            var report: Backtest.Report?
            let time = await ContinuousClock().measure {
                report = await backtest.run(table, holdout: holdout, origins: origins)
            }
            if let skipped = report?.skipped, !skipped.isEmpty {
                throw ValidationError(
                    "\(path): " + skipped.map { "\($0.unit): \($0.reason)" }.joined(separator: "; "))
            }
            scores.append(
                MethodScore(
                    method: name, source: "empmon", meanMASE: report?.meanMASE, meanSMAPE: report?.meanSMAPE,
                    seconds: time.seconds))
            print(String(format: "  %@: mean MASE %.3f", name, report?.meanMASE ?? .nan))
        }
        if let statsforecastPython {
            scores += try statsforecast(python: statsforecastPython, path: path)
        }
        return SetResult(
            set: URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent, series: table.series.count,
            holdout: holdout, origins: origins, methods: scores)
    }

    /// statsforecast's scores on the same file and origins, from the script's JSON.
    func statsforecast(python: String, path: String) throws -> [MethodScore] {
        let script = URL(fileURLWithPath: try Edge.topologyFiles().directory).deletingLastPathComponent()
            .appendingPathComponent("scripts/statsforecast-backtest.py").path
        print("  statsforecast (AutoETS, AutoARIMA, AutoTheta) on the same origins …")
        let run = try ChildProcess.run(python, [script, path, String(holdout), String(origins)])
        guard run.status == 0, let line = run.output.split(separator: "\n").last,
            let decoded = try? JSONDecoder().decode(StatsforecastOutput.self, from: Data(line.utf8))
        else {
            throw ValidationError(
                "\(python) \(script) failed (exit \(run.status)); is statsforecast installed there? \(run.output.suffix(600))"
            )
        }
        return decoded.methods.keys.sorted().compactMap { name in
            guard let method = decoded.methods[name] else { return nil }
            let mases = method.series.values.compactMap(\.mase)
            let smapes = method.series.values.compactMap(\.smape)
            return MethodScore(
                method: name, source: "statsforecast",
                meanMASE: mases.isEmpty ? nil : mases.reduce(0, +) / Double(mases.count),
                meanSMAPE: smapes.isEmpty ? nil : smapes.reduce(0, +) / Double(smapes.count), seconds: method.seconds)
        }
    }

    struct StatsforecastOutput: Decodable {
        struct Score: Decodable {
            let mase: Double?
            let smape: Double?
        }
        struct Method: Decodable {
            let series: [String: Score]
            let seconds: Double
        }
        let methods: [String: Method]
    }

    static func show(_ result: SetResult) {
        let number = { (value: Double?) in value.map { String(format: "%.3f", $0) } ?? "–" }
        Swift.print(
            "\n\(result.set): \(result.series) series, \(result.holdout) months ahead from \(result.origins) origins")
        Swift.print(
            Table.render(
                header: ["method", "by", "mean MASE", "mean sMAPE %", "seconds"],
                rows: result.methods.map {
                    [
                        $0.method, $0.source, number($0.meanMASE), number($0.meanSMAPE),
                        String(format: "%.1f", $0.seconds),
                    ]
                }))
    }
}
