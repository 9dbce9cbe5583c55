import ArgumentParser
import DevStack
import Domain
import Foundation
import Postgres
import Storage
import TopologyFiles

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent", abstract: "Reporting agents: the city's registry of them.",
        subcommands: [Enroll.self, Revoke.self, List.self])

    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register an agent for a unit's subtree and write its credentials file.")

        @Option(help: "Division code (or exact name) of the unit the agent reports for.") var unit: String
        @Option(help: "A name for the agent (default: the unit's name).") var name = ""
        @Option(help: "Where to write the credentials (default: agent-<code>.json).") var out: String?
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let topology = try TopologyFiles.locate().loadTopology()
            let division = try resolveUnit(unit, in: topology)
            let settings = try ConnectionSettings.resolve(
                postgresURL: connection.postgresURL, kafkaBootstrap: connection.kafkaBootstrap, home: connection.home)
            let registry = AgentRegistry(database: try PostgresClient(url: settings.postgresURL, maxConnections: 1))
            let credentials = try await registry.enroll(unit: division, name: name, kafkaBootstrap: settings.kafkaBootstrap)
            let path = out ?? "agent-\(division.code).json"
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            // The file holds secrets: readable by its owner only, from the moment it exists.
            guard FileManager.default.createFile(atPath: path, contents: try encoder.encode(credentials), attributes: [.posixPermissions: 0o600])
            else { throw ValidationError("cannot write \(path)") }
            print("enrolled \(credentials.agentID) for \(division.code) \(division.name) (\(division.tier.chineseName))")
            print("credentials written to \(path) — hand it to the agent over a safe channel; it holds secrets")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the city accepting an agent's records.")

        @Argument(help: "The agent id.") var agentID: String
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let settings = try ConnectionSettings.resolve(
                postgresURL: connection.postgresURL, kafkaBootstrap: connection.kafkaBootstrap ?? "", home: connection.home)
            let registry = AgentRegistry(database: try PostgresClient(url: settings.postgresURL, maxConnections: 1))
            if try await registry.revoke(agentID: agentID) {
                print("revoked \(agentID)")
            } else {
                throw ValidationError("no active agent \(agentID)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every enrolled agent, with its unit and state.")

        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let settings = try ConnectionSettings.resolve(
                postgresURL: connection.postgresURL, kafkaBootstrap: connection.kafkaBootstrap ?? "", home: connection.home)
            let registry = AgentRegistry(database: try PostgresClient(url: settings.postgresURL, maxConnections: 1))
            for agent in try await registry.all() {
                print("\(agent.agentID)  \(agent.unit)  \(agent.name)  \(agent.revokedAt.map { "revoked \($0)" } ?? "active")")
            }
        }
    }
}
