import ArgumentParser
import DevStack
import Domain
import Foundation
import Postgres
import Reporting
import Situation
import TopologyFiles

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the month's situation report (就业形势分析) as one HTML page with inline SVG charts, ready to print."
    )

    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Month, YYYY-MM (default: the latest month with reports).") var period: String?
    @Option(help: "Output HTML file.") var out = "report.html"
    @Option(help: "Scale of the count targets; default $EMPMON_TARGET_SCALE or 1.") var targetScale: Double?

    func run() async throws {
        let files = try Empmon.topologyFiles()
        let topology = try files.loadTopology()
        let settings = try ConnectionSettings.resolve(
            postgresURL: connection.postgresURL, kafkaBootstrap: "-", home: connection.home)
        let database = try PostgresClient(url: settings.postgresURL, maxConnections: 2)
        let month: Period
        if let period {
            guard let parsed = Period(period) else { throw ValidationError("--period '\(period)' is not YYYY-MM") }
            month = parsed
        } else {
            guard let latest = try await IndicatorHistory(database: database).lastReportedPeriod() else {
                throw ValidationError("nothing has been reported yet; give --period")
            }
            month = latest
        }
        let report = try await ReportBuilder(
            database: database, topology: topology, targets: try AlertSetup.targets(files: files, scale: targetScale),
            countyMap: try files.loadCountyMap(for: topology)
        )
        .build(period: month)
        try writeOutput(ReportHTML.render(report), to: out)
        print(
            "wrote \(out): \(topology.city.name)就业形势分析 \(month) (\(report.counties.rows.count) counties, \(report.alerts.count) firing alerts)"
        )
    }
}
