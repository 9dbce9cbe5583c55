import Analysis
import ArgumentParser
import CommandEdge
import DevStack
import Domain
import Foundation
import Harness
import Postgres
import Situation
import TopologyFiles

/// `empmon forecast --indicator ID`: the whole topology from the database, stored.
enum DatabaseForecast {
    static func run(
        indicator: String, horizon: Int, batch: BatchForecast, connection: ConnectionOptions, output: String?
    ) async throws {
        let id = IndicatorID(rawValue: indicator)
        guard IndicatorCatalogue.indicator(id) != nil else {
            throw ValidationError(
                "--indicator '\(indicator)' is not in the catalogue; one of: \(IndicatorCatalogue.all.map(\.id.rawValue).joined(separator: ", "))"
            )
        }
        let topology = try Edge.topologyFiles().loadTopology()
        let settings = try ConnectionSettings.resolve(
            postgresURL: connection.postgresURL, kafkaBootstrap: "-", home: connection.home)
        let database = try PostgresClient(url: settings.postgresURL, maxConnections: 2)
        let started = ContinuousClock.now
        let run = try await StoredForecasts(database: database, topology: topology).run(
            indicator: id, horizon: horizon, batch: batch)
        let elapsed = ContinuousClock.now - started
        if let output {
            let byName = Dictionary(uniqueKeysWithValues: run.forecasts.map { ($0.key.description, $0.value) })
            try writeOutput(forecastCSV(byName, origin: { _ in run.origin }), to: output)
        }
        print(
            String(
                format: "forecast %@ for %d units, %@ to %@, stored as run %lld (%@%@) in %.1f s", indicator,
                run.forecasts.count,
                run.origin.description, run.origin.advanced(by: horizon - 1).description, run.id,
                batch.reconciliation.rawValue,
                run.shrinkage.map { String(format: ", λ = %.3f", $0) } ?? "", elapsed.seconds))
        let city = topology.city
        if let forecast = run.forecasts[city.code] {
            let rows = (0..<forecast.horizon).map { step in
                [run.origin.advanced(by: step).description]
                    + [
                        forecast.mean[step], forecast.lo80[step], forecast.hi80[step], forecast.lo95[step],
                        forecast.hi95[step],
                    ].map(Format.number)
            }
            print("\(city.name):")
            print(Table.render(header: ["month", "mean", "lo80", "hi80", "lo95", "hi95"], rows: rows))
        }
    }
}
