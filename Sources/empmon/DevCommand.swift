import ArgumentParser
import DevStack
import Foundation
import Logging
import Postgres
import Storage

struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "The embedded development stack: a private PostgreSQL and a mock Kafka cluster on loopback.",
        subcommands: [Up.self, Status.self, Down.self, Env.self, Kafka.self, Broker.self]
    )

    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Start PostgreSQL and a 3-broker mock Kafka cluster (whatever is not running yet) and migrate the schema."
        )

        @Option(help: "Dev stack folder (default: $EMPMON_HOME, then ./.empmon).") var home: String?
        @Option(help: "Brokers of the mock cluster.") var brokers = 3
        @Flag(
            help:
                "PostgreSQL over TLS only (a CA made for this stack, checked with sslmode=verify-full) with SCRAM passwords. Chosen when the stack is first made."
        )
        var secure = false

        func run() async throws {
            let stack = DevStack(home: DevHome.resolve(home), logger: Logger(label: "empmon.dev"))
            let settings = try await stack.up(brokers: brokers, secure: secure ? true : nil) { print("• \($0)") }
            let connection = try await PostgresConnection.connect(url: settings.postgresURL)
            let applied = try await Schema.migrator().migrate(connection)
            if !applied.isEmpty { print("• applied migrations \(applied.map(String.init).joined(separator: ", "))") }
            let failures = try await applyTopics(
                bootstrap: settings.kafkaBootstrap, dev: settings, replicationFactor: nil
            ) {
                if $0.hasPrefix("created") { print("• topic \($0.dropFirst(9))") }
            }
            if failures > 0 { throw ExitCode(1) }
            print("dev stack ready; settings in \(stack.home.settingsFile)")
            print("  PostgreSQL  \((try? PostgresURL.redact(settings.postgresURL)) ?? settings.postgresURL)")
            print("  Kafka       \(settings.kafkaBootstrap)")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Report whether the dev stack's services run and answer.")

        @Option(help: "Dev stack folder.") var home: String?

        func run() async throws {
            let status = try await DevStack(home: DevHome.resolve(home)).status()
            print("settings    \(status.settingsFile)")
            print("PostgreSQL  \(status.postgres)")
            print("Kafka       \(status.kafka)")
            if !status.isRunning { throw ExitCode(3) }
        }
    }

    struct Down: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop exactly the processes `dev up` started, by pid.")

        @Option(help: "Dev stack folder.") var home: String?

        func run() async throws {
            let stopped = try DevStack(home: DevHome.resolve(home)).down()
            print(stopped.isEmpty ? "nothing was running" : "stopped " + stopped.joined(separator: ", "))
        }
    }

    struct Env: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the dev stack's connection settings as shell exports (eval \"$(empmon dev env)\").")

        @Option(help: "Dev stack folder.") var home: String?

        func run() async throws {
            guard let settings = try DevHome.resolve(home).loadSettings() else {
                throw ValidationError("the dev stack is not set up; run `empmon dev up` first")
            }
            print("export EMPMON_POSTGRES_URL='\(settings.postgresURL)'")
            print("export EMPMON_KAFKA_BOOTSTRAP='\(settings.kafkaBootstrap)'")
            print("export EMPMON_KAFKA_CONTROL_SOCKET='\(settings.kafka.controlSocket)'")
        }
    }

    struct Kafka: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a mock Kafka cluster in this process until SIGTERM (`dev up` starts it in the background).")

        @Option(help: "Number of brokers.") var brokers = 3
        @Option(help: "Unix socket for control requests (create-topic, broker-down, broker-up).") var controlSocket:
            String
        @Option(help: "File to write the bootstrap servers to once the cluster is up.") var readyFile: String

        func run() async throws {
            try await MockKafkaProcess.run(
                brokers: brokers, controlSocket: controlSocket, readyFile: readyFile,
                logger: Logger(label: "empmon.kafka"))
        }
    }

    struct Broker: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take a broker of the dev mock cluster down or bring it up again, or create a topic on it.")

        @Argument(help: "down ID | up ID | create-topic NAME PARTITIONS") var request: [String]
        @Option(help: "Dev stack folder.") var home: String?

        func run() async throws {
            guard let settings = try DevHome.resolve(home).loadSettings() else {
                throw ValidationError("the dev stack is not set up; run `empmon dev up` first")
            }
            var words = request
            if let verb = words.first, verb == "down" || verb == "up" { words[0] = "broker-\(verb)" }
            print(try MockKafkaControl.send(words.joined(separator: " "), socketPath: settings.kafka.controlSocket))
        }
    }
}
