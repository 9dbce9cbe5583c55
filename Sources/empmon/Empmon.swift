import ArgumentParser
import Foundation
import Logging

@main
struct Empmon: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "empmon",
        abstract: "Changzhi employment monitoring: four-tier reporting through Kafka into PostgreSQL.",
        subcommands: [
            DevCommand.self, DatabaseCommand.self, TopologyCommand.self, AgentCommand.self, SimulateCommand.self, ProcessCommand.self,
            VerifyCommand.self, IndicatorsCommand.self, QueryCommand.self, ForecastCommand.self, BacktestCommand.self, AlertsCommand.self, ReportCommand.self, ServeCommand.self, TokenCommand.self, DemoCommand.self, BenchCommand.self,
        ]
    )

    static func logger(_ label: String) -> Logger {
        var logger = Logger(label: label)
        let level = ProcessInfo.processInfo.environment["EMPMON_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
        logger.logLevel = level ?? .info
        return logger
    }
}

/// Options every subcommand that talks to the services shares.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .customLong("postgres-url"), help: "PostgreSQL URL (default: $EMPMON_POSTGRES_URL, then the dev stack).")
    var postgresURL: String?

    @Option(name: .customLong("kafka"), help: "Kafka bootstrap servers (default: $EMPMON_KAFKA_BOOTSTRAP, then the dev stack).")
    var kafkaBootstrap: String?

    @Option(help: "Dev stack folder (default: $EMPMON_HOME, then the nearest .empmon).")
    var home: String?
}
