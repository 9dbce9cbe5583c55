import Alerting
import ArgumentParser
import CommandEdge
import DevStack
import Domain
import Foundation
import Harness
import Ledger
import Logging
import Postgres
import Situation
import TopologyFiles

struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts", abstract: "Alert rules on the stored indicators: evaluate them, list the alerts.",
        subcommands: [AlertsEvalCommand.self, AlertsListCommand.self])
}

struct AlertsEvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract:
            "Evaluate every rule for every unit, update the alerts, deliver their events to the alerts topic and the webhooks."
    )

    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Rules file (default: Topology/alerts.yaml).") var rules: String?
    @Option(help: "Scale of the count targets; default $EMPMON_TARGET_SCALE or 1.") var targetScale: Double?
    @Option(help: "Seconds to keep retrying failed deliveries before leaving them for the next run.") var patience =
        15.0
    @Option(
        help: "Evaluate as if it were this moment (YYYY-MM-DD or ISO 8601): decides which report deadlines have passed."
    ) var now: String?

    func run() async throws {
        let files = try Edge.topologyFiles()
        let configuration = try Edge.alertRules(rules, files: files)
        let settings = try ConnectionSettings.resolve(
            postgresURL: connection.postgresURL, kafkaBootstrap: connection.kafkaBootstrap, home: connection.home)
        let database = try PostgresClient(url: settings.postgresURL, maxConnections: 2)
        let engine = AlertEngine(
            database: database, topology: try files.loadTopology(), configuration: configuration,
            targets: try Edge.targets(files: files, scale: targetScale), logger: Logger(label: "empmon.alerts"))
        let summary = try await engine.evaluate(now: try now.map { try parseMoment($0, option: "--now") } ?? Date())
        print(
            "evaluated \(configuration.rules.count) rules over \(summary.evaluated) rule-units: \(summary.fired) fired, \(summary.resolved) resolved, "
                + "\(summary.stillFiring) still firing, \(summary.pending) pending")
        let delivery = try await AlertDispatcher(
            database: database, kafka: try Edge.kafka(settings.kafkaBootstrap), logger: Logger(label: "empmon.alerts")
        )
        .deliver(patience: .seconds(patience))
        print(
            "delivered \(delivery.delivered) notifications"
                + (delivery.waiting > 0
                    ? "; \(delivery.waiting) waiting for a retry (next `alerts eval` or the processor)" : ""))
    }
}

struct AlertsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List alerts, newest first.")

    @OptionGroup var connection: ConnectionOptions
    @Option(help: "pending, firing or resolved (default: all).") var state: String?
    @Option(
        help:
            "table, csv, csv-excel (CSV with the byte-order mark Excel and WPS need), xlsx (a workbook: needs --out) or json."
    )
    var format = "table"
    @Option(help: "The file an xlsx workbook is written to.") var out: String?
    @Option(help: "At most this many.") var limit = 100

    func validate() throws {
        if let state, !["pending", "firing", "resolved"].contains(state) {
            throw ValidationError("--state must be pending, firing or resolved")
        }
        guard ["table", "json"].contains(format) || TableExport(rawValue: format) != nil else {
            throw ValidationError("--format must be table, csv, csv-excel, xlsx or json, not '\(format)'")
        }
        if format == "xlsx", out == nil {
            throw ValidationError("--format xlsx writes a workbook: name its file with --out")
        }
        guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be 1 to 10000") }
    }

    func run() async throws {
        let settings = try ConnectionSettings.resolve(
            postgresURL: connection.postgresURL, kafkaBootstrap: "-", home: connection.home)
        let alerts = try await AlertRecord.list(
            database: try PostgresClient(url: settings.postgresURL, maxConnections: 1), state: state, limit: limit)
        switch format {
        case "json":
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(alerts), as: UTF8.self))
        default:
            let header = ["id", "state", "severity", "rule", "unit", "since", "last", "message"]
            let rows = alerts.map {
                [String($0.id), $0.state, $0.severity, $0.rule, $0.unit, $0.since, $0.lastPeriod, $0.message]
            }
            if let export = TableExport(rawValue: format) {
                try writeTable(export, header: header, rows: rows, title: "预警（\(state ?? "全部")）", to: out)
            } else {
                print(Table.render(header: header, rows: rows))
            }
        }
    }
}
