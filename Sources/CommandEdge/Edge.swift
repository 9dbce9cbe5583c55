import Agent
import Alerting
import ArgumentParser
import DevStack
import Foundation
import Kafka
import Logging
import Situation
import TopologyFiles

/// What the executables read from the environment and the files beside them, once, at the edge; the libraries
/// are handed typed values.
package enum Edge {
    /// Every logger of the process logs to standard error at `EMPMON_LOG_LEVEL` (default info). Called once, first
    /// thing in each executable's `main`.
    package static func bootstrapLogging() {
        let level =
            ProcessInfo.processInfo.environment["EMPMON_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }

    /// The `Topology/` folder: `$EMPMON_TOPOLOGY`, else found from the working directory or the executable.
    package static func topologyFiles() throws -> TopologyFiles {
        try TopologyFiles.locate(explicit: ProcessInfo.processInfo.environment["EMPMON_TOPOLOGY"])
    }

    /// An agent's home: `--home`, else `$EMPMON_AGENT_HOME`, else `./.empmon-agent`.
    package static func agentHome(_ option: String?) -> String {
        if let option { return option }
        if let home = ProcessInfo.processInfo.environment["EMPMON_AGENT_HOME"], !home.isEmpty { return home }
        return AgentWorkspace.homeInWorkingDirectory
    }

    /// The deployment's Kafka security (TLS, SASL) from the properties file named by `EMPMON_KAFKA_PROPERTIES`
    /// (Deploy/kafka/librdkafka-client.properties), `${NAME}` taken from the environment; plaintext when it is
    /// unset.
    package static func kafkaSecurity() throws -> KafkaSecurity {
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
    package static func kafka(_ bootstrap: String) throws -> KafkaEndpoint {
        KafkaEndpoint(bootstrapServers: bootstrap, security: try kafkaSecurity())
    }

    /// The scale of the count targets from `EMPMON_TARGET_SCALE` (the demo's simulated city is a thousandth of the
    /// real one), else 1; a command's `--target-scale` comes first.
    package static var environmentTargetScale: Double {
        ProcessInfo.processInfo.environment["EMPMON_TARGET_SCALE"].flatMap(Double.init).flatMap { $0 > 0 ? $0 : nil }
            ?? 1
    }

    /// The alert rules at `path`, else `Topology/alerts.yaml`.
    package static func alertRules(_ path: String?, files: TopologyFiles) throws -> AlertConfiguration {
        let file = path ?? files.alertRulesPath
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ValidationError("cannot read the alert rules \(file)")
        }
        do { return try AlertConfiguration.parse(String(decoding: data, as: UTF8.self), source: file) } catch {
            throw ValidationError(error.description)
        }
    }

    /// The year's count targets (`Topology/targets.yaml`) at `scale`, else the environment's.
    package static func targets(files: TopologyFiles, scale: Double?) throws -> UnitTargets {
        let targets = try files.loadTargets()
        return UnitTargets(
            year: targets.year, city: targets.unit, targets: targets.targets,
            scale: scale ?? environmentTargetScale)
    }

    /// The `empmon` executable the benches start processors, verifiers and agents from: `$EMPMON_BINARY`, else the
    /// one beside the running executable.
    package static var empmonExecutable: String {
        if let binary = ProcessInfo.processInfo.environment["EMPMON_BINARY"], !binary.isEmpty { return binary }
        return sibling("empmon")
    }

    /// An executable built beside the running one (`empmon`, `empmon-bench`).
    package static func sibling(_ name: String) -> String {
        URL(fileURLWithPath: ChildProcess.currentExecutable).deletingLastPathComponent().appendingPathComponent(name)
            .path
    }
}
