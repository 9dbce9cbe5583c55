import ArgumentParser
import CommandEdge
import DevStack
import Domain
import Foundation
import Kafka
import Logging
import TopologyFiles

struct TopologyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topology", abstract: "Changzhi's divisions, the pipeline's topics and the plan's targets.",
        subcommands: [Show.self, Check.self, Apply.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A unit and the tree below it, with counts per tier.")

        @Argument(help: "Division code or exact name (default: the city).") var unit: String?
        @Option(help: "Tiers of the tree to print below the unit.") var depth = 1

        func run() async throws {
            let topology = try Edge.topologyFiles().loadTopology()
            let root = try resolveUnit(unit, in: topology)
            print(line(root, topology: topology, indent: ""))
            printChildren(of: root, topology: topology, indent: "  ", levels: depth)
        }

        private func printChildren(of division: Division, topology: Topology, indent: String, levels: Int) {
            guard levels > 0 else { return }
            for child in topology.children(of: division.code) {
                print(line(child, topology: topology, indent: indent))
                printChildren(of: child, topology: topology, indent: indent + "  ", levels: levels - 1)
            }
        }

        private func line(_ division: Division, topology: Topology, indent: String) -> String {
            let below = Tier.allCases.filter { $0 > division.tier }.map { tier in
                "\(topology.units(of: tier, under: division.code).count) \(tier.chineseName)"
            }
            let counts = below.isEmpty ? (division.isUrban ? "居委会/社区" : "村委会") : below.joined(separator: "  ")
            return "\(indent)\(division.code)  \(division.name)  [\(division.tier.chineseName)]  \(counts)"
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the division list (parents exist, tiers match codes), topics and targets.")

        func run() async throws {
            let files = try Edge.topologyFiles()
            let topology = try files.loadTopology()
            let topics = try files.loadTopics()
            let targets = try files.loadTargets()
            print("divisions  \(files.directory)/changzhi-divisions.csv: consistent")
            for tier in Tier.allCases {
                print(
                    "  \(tier.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) \(topology.count(of: tier))")
            }
            print(
                "topics     \(topics.topics.count): "
                    + topics.topics.map { "\($0.name) (\($0.partitions))" }.joined(separator: ", "))
            print("targets    \(targets.targets.count) indicators for \(targets.year), unit \(targets.unit)")
        }
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the topics on the configured Kafka cluster; existing topics are left as they are.")

        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Replication factor (default: the production setting in topics.json, 1 on the dev mock cluster).")
        var replicationFactor: Int32?

        func run() async throws {
            let settings = try ConnectionSettings.resolve(
                postgresURL: connection.postgresURL ?? "", kafkaBootstrap: connection.kafkaBootstrap,
                home: connection.home)
            let dev = try? DevHome.resolve(connection.home).loadSettings()
            let failures = try await applyTopics(
                bootstrap: settings.kafkaBootstrap,
                dev: dev.flatMap { $0.kafkaBootstrap == settings.kafkaBootstrap ? $0 : nil },
                replicationFactor: replicationFactor
            ) { print($0) }
            if failures > 0 { throw ExitCode(1) }
        }
    }
}

/// Creates the topics of Topology/topics.json that the cluster lacks. On the dev mock cluster (which does
/// not answer CreateTopics) it asks the mock's own process. Returns the number of failures.
func applyTopics(
    bootstrap: String, dev: DevSettings?, replicationFactor: Int32?, report: (String) -> Void
) async throws -> Int {
    let definitions = try Edge.topologyFiles().loadTopics()
    var logger = Logger(label: "empmon.topology")
    logger.logLevel = .critical
    let admin = try KafkaAdmin(configuration: KafkaClientConfiguration(bootstrapServers: bootstrap), logger: logger)
    let existing = Dictionary(
        uniqueKeysWithValues: try await admin.listTopics().filter { $0.error == nil }.map { ($0.name, $0) })
    let replication = replicationFactor ?? (dev != nil ? 1 : definitions.production.replicationFactor)
    var failures = 0
    for topic in definitions.topics {
        if let present = existing[topic.name] {
            let note =
                present.partitions.count == Int(topic.partitions)
                ? "" : " — has \(present.partitions.count) partitions, definition says \(topic.partitions)"
            report("exists   \(topic.name)\(note)")
            continue
        }
        if let dev {
            try MockKafkaControl.send(
                "create-topic \(topic.name) \(topic.partitions) \(replication)", socketPath: dev.kafka.controlSocket)
            report("created  \(topic.name) (\(topic.partitions) partitions, dev mock cluster)")
            continue
        }
        var configs = topic.configs
        configs["min.insync.replicas"] =
            configs["min.insync.replicas"] ?? String(definitions.production.minInsyncReplicas)
        let outcome = try await admin.createTopics([
            KafkaNewTopic(
                name: topic.name, partitions: topic.partitions, replicationFactor: replication, configs: configs)
        ])
        switch outcome[topic.name] {
        case .created: report("created  \(topic.name) (\(topic.partitions) partitions, replication \(replication))")
        case .alreadyExisted: report("exists   \(topic.name)")
        case .failed(let error):
            failures += 1
            report("FAILED   \(topic.name): \(error)")
        case nil:
            failures += 1
            report("FAILED   \(topic.name): no answer from the cluster")
        }
    }
    return failures
}
