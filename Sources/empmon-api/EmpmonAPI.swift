import ArgumentParser
import Domain
import Foundation
import Hummingbird
import Logging
import Postgres
import Serve
import Situation
import TopologyFiles

/// The HTTP API on its own: the read side only. It links PostgreSQL and Hummingbird, never librdkafka, the
/// alert engine or the dev stack (`scripts/check-module-graph.sh` checks the binary), so that the process facing
/// the network carries nothing of the write path. `empmon serve` runs the same server for the dev stack.
@main
struct EmpmonAPI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "empmon-api",
        abstract:
            "Serve the HTTP API: situation, series, forecasts, targets, completeness, alerts, rejections; bearer tokens scoped to a subtree."
    )

    @Option(name: .customLong("postgres-url"), help: "PostgreSQL URL (default: $EMPMON_POSTGRES_URL).") var postgresURL:
        String?
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port (0: any free port; the log names the one taken).") var port = 8080
    @Option(help: "Scale of the count targets (default: $EMPMON_TARGET_SCALE, then 1).") var targetScale: Double?

    /// Every logger logs to standard error at `EMPMON_LOG_LEVEL` (default info): set once, before anything logs.
    static func main() async {
        let level =
            ProcessInfo.processInfo.environment["EMPMON_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        await main(nil)
    }

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
        if let targetScale, !(targetScale > 0) { throw ValidationError("--target-scale must be above 0") }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let url = postgresURL ?? environment["EMPMON_POSTGRES_URL"], !url.isEmpty else {
            throw ValidationError("no database: pass --postgres-url or set EMPMON_POSTGRES_URL")
        }
        let scale =
            try targetScale ?? environment["EMPMON_TARGET_SCALE"].map { text in
                guard let value = Double(text), value > 0 else {
                    throw ValidationError("EMPMON_TARGET_SCALE '\(text)' is not a number above 0")
                }
                return value
            } ?? 1
        let logger = Logger(label: "empmon.api")
        let files = try TopologyFiles.locate(explicit: environment["EMPMON_TOPOLOGY"])
        let targets = try files.loadTargets()
        let topology = try files.loadTopology()
        let server = APIServer(
            database: try PostgresClient(url: url, maxConnections: 8), topology: topology,
            targets: UnitTargets(year: targets.year, city: targets.unit, targets: targets.targets, scale: scale),
            countyMap: try files.loadCountyMap(for: topology), logger: logger)
        let app = Application(
            router: server.router(), configuration: .init(address: .hostname(host, port: port)), logger: logger)
        logger.info("API at http://\(host):\(port)/api/v1/openapi.json")
        try await app.runService()
    }
}
