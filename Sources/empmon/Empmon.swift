import Agent
import ArgumentParser
import Foundation
import Kafka
import Logging
import TopologyFiles

@main
struct Empmon: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "empmon",
        abstract: "Changzhi employment monitoring: four-tier reporting through Kafka into PostgreSQL.",
        subcommands: [
            DevCommand.self, DatabaseCommand.self, TopologyCommand.self, AgentCommand.self, SimulateCommand.self,
            ProcessCommand.self,
            VerifyCommand.self, IndicatorsCommand.self, QueryCommand.self, QualityCommand.self, ForecastCommand.self,
            BacktestCommand.self,
            AlertsCommand.self, ReportCommand.self, ServeCommand.self, TokenCommand.self, DemoCommand.self,
            BenchCommand.self,
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
    @Option(
        name: .customLong("postgres-url"), help: "PostgreSQL URL (default: $EMPMON_POSTGRES_URL, then the dev stack).")
    var postgresURL: String?

    @Option(
        name: .customLong("kafka"),
        help: "Kafka bootstrap servers (default: $EMPMON_KAFKA_BOOTSTRAP, then the dev stack).")
    var kafkaBootstrap: String?

    @Option(help: "Dev stack folder (default: $EMPMON_HOME, then the nearest .empmon).")
    var home: String?
}

extension Empmon {
    /// The `Topology/` folder: `$EMPMON_TOPOLOGY`, else found from the working directory or the executable.
    static func topologyFiles() throws -> TopologyFiles {
        try TopologyFiles.locate(explicit: ProcessInfo.processInfo.environment["EMPMON_TOPOLOGY"])
    }

    /// An agent's home: `--home`, else `$EMPMON_AGENT_HOME`, else `./.empmon-agent`.
    static func agentHome(_ option: String?) -> String {
        if let option { return option }
        if let home = ProcessInfo.processInfo.environment["EMPMON_AGENT_HOME"], !home.isEmpty { return home }
        return AgentWorkspace.homeInWorkingDirectory
    }

    /// The deployment's Kafka security (TLS, SASL) from the properties file named by `EMPMON_KAFKA_PROPERTIES`
    /// (Deploy/kafka/librdkafka-client.properties), `${NAME}` taken from the environment; plaintext when it is
    /// unset. Read here, at the edge, and handed to the libraries as a typed value.
    static func kafkaSecurity() throws -> KafkaSecurity {
        let environment = ProcessInfo.processInfo.environment
        guard let path = environment["EMPMON_KAFKA_PROPERTIES"], !path.isEmpty else { return .plaintext }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("EMPMON_KAFKA_PROPERTIES names \(path), which cannot be read")
        }
        do {
            return try KafkaSecurity(
                properties: String(decoding: data, as: UTF8.self), environment: environment, source: path)
        } catch {
            throw ValidationError("EMPMON_KAFKA_PROPERTIES: \(error)")
        }
    }

    /// The brokers at `bootstrap`, reached with the deployment's security.
    static func kafka(_ bootstrap: String) throws -> KafkaEndpoint {
        KafkaEndpoint(bootstrapServers: bootstrap, security: try kafkaSecurity())
    }
}

extension Empmon {
    /// The scale of the count targets from `EMPMON_TARGET_SCALE` (the demo's simulated city is a thousandth of the
    /// real one), else 1; a command's `--target-scale` comes first.
    static var environmentTargetScale: Double {
        ProcessInfo.processInfo.environment["EMPMON_TARGET_SCALE"].flatMap(Double.init).flatMap { $0 > 0 ? $0 : nil }
            ?? 1
    }
}
